use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{AuditEvent, BookId, Rental, RentalId, RentalQuery};
use crate::BoxError;

/// Why a [`RentalRepo`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RentalRepoError {
    /// No rental with this id.
    #[error("rental {0} not found")]
    NotFound(RentalId),
    /// The rented book does not exist.
    #[error("book {0} not found")]
    BookNotFound(BookId),
    /// Every copy of the book is rented.
    #[error("no copy of book {0} is available")]
    NoCopyAvailable(BookId),
    /// A rental with this id already exists.
    #[error("rental {0} already exists")]
    DuplicateId(RentalId),
    /// The request is malformed for this backend.
    #[error("invalid rental query: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("rental store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("rental store failure: {0}")]
    Internal(#[source] BoxError),
}

/// Rentals, stored beside the books they rent.
///
/// **Invariant:** a book never has more active (unreturned) rentals than copies,
/// whatever the concurrency: [`RentalRepo::rent`] checks and records atomically.
///
/// Like [`BookRepo`](super::BookRepo)'s writes, each write stores its audit event
/// in the same transaction, and only when it changes something.
#[async_trait]
pub trait RentalRepo: Send + Sync {
    /// Records an active rental if a copy of the book is free, atomically with
    /// the book's `rented` count and with `event`.
    async fn rent(&self, rental: &Rental, event: &AuditEvent) -> Result<(), RentalRepoError>;

    /// Marks a rental returned at `at` and frees the copy. Returning a returned
    /// rental changes nothing and gives it back as it is (`changed: false`, and
    /// `event` is not stored).
    async fn return_rental(
        &self,
        id: RentalId,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ReturnOutcome, RentalRepoError>;

    /// Reads a rental.
    async fn get(&self, id: RentalId) -> Result<Rental, RentalRepoError>;

    /// Lists rentals (see [`RentalQuery`] for the contract).
    async fn list(&self, query: &RentalQuery) -> Result<Vec<Rental>, RentalRepoError>;
}

/// The result of [`RentalRepo::return_rental`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnOutcome {
    /// The rental as stored now.
    pub rental: Rental,
    /// Whether this call returned it (false when it was already returned).
    pub changed: bool,
}
