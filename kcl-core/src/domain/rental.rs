use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validation::text;
use super::{BookId, ValidationError};

/// The identifier of a rental (a UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RentalId(pub Uuid);

impl fmt::Display for RentalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RentalId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| ValidationError::field("id", "bad-uuid", "must be a UUID"))
    }
}

/// Who rents a copy: a name or member code, 1 to 100 characters, no control characters.
///
/// ```
/// use kcl_core::domain::Renter;
/// assert_eq!(Renter::parse("  ana ").unwrap().as_str(), "ana");
/// assert!(Renter::parse("").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Renter(String);

impl Renter {
    /// Longest renter, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates a renter.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        text("renter", s, 1, Self::MAX_CHARS, false).map(Self)
    }

    /// The renter as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Renter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One copy of a book rented to a renter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rental {
    /// The rental's id, chosen by KCL when the copy goes out.
    pub id: RentalId,
    /// The rented book.
    pub book_id: BookId,
    /// Who rents it.
    pub renter: Renter,
    /// When the copy went out.
    pub rented_at: DateTime<Utc>,
    /// Last day (UTC) the copy may be kept; overdue from the day after.
    pub due_date: NaiveDate,
    /// When it came back, if it did.
    pub returned_at: Option<DateTime<Utc>>,
}

/// Where a rental stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RentalStatus {
    /// Out, not yet due.
    Active,
    /// Out past its due date.
    Overdue,
    /// Back in the library.
    Returned,
}

impl Rental {
    /// The status on `today` (UTC).
    pub fn status(&self, today: NaiveDate) -> RentalStatus {
        match self.returned_at {
            Some(_) => RentalStatus::Returned,
            None if today > self.due_date => RentalStatus::Overdue,
            None => RentalStatus::Active,
        }
    }
}

/// Which rentals a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RentalStatusFilter {
    /// Not returned (overdue ones included).
    Active,
    /// Back in the library.
    Returned,
    /// Not returned and past the due date.
    Overdue,
}

impl FromStr for RentalStatusFilter {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "returned" => Ok(Self::Returned),
            "overdue" => Ok(Self::Overdue),
            _ => Err(ValidationError::field(
                "status",
                "unknown-status",
                "must be active, returned or overdue",
            )),
        }
    }
}
