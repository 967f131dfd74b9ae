use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::journal::{Journal, Touched};
use super::{CatalogService, Ports, ServiceError};
use crate::domain::{
    AuditAction, BookId, Cursor, EntityRef, Page, Rental, RentalId, RentalQuery,
    RentalStatusFilter, Renter, ValidationError,
};
use crate::ports::{Clock, IdSource, RentalRepo};

/// A rental listing as a caller asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRentals {
    /// Only this book's rentals.
    pub book_id: Option<BookId>,
    /// Only this renter's rentals.
    pub renter: Option<String>,
    /// `active`, `returned` or `overdue`.
    pub status: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RentalCursor {
    t: i64,
    id: Uuid,
}

/// Rentals: rent a copy, return it, list.
pub struct RentalService {
    rentals: Arc<dyn RentalRepo>,
    journal: Journal,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    loan_days: u64,
}

impl RentalService {
    /// Loan length when no due date is given.
    pub const DEFAULT_LOAN_DAYS: u64 = 14;
    /// The furthest due date, in days from today.
    pub const MAX_LOAN_DAYS: u64 = 365;

    pub(crate) fn new(p: &Ports) -> Self {
        Self {
            rentals: p.rentals.clone(),
            journal: Journal::new(p),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
            loan_days: Self::DEFAULT_LOAN_DAYS,
        }
    }

    /// Rents a copy of a book to `renter`, due on `due_date` (default: in 14 days).
    /// Fails with a `no-copy-available` conflict when every copy is out.
    pub async fn rent(
        &self,
        book_id: BookId,
        renter: &str,
        due_date: Option<NaiveDate>,
    ) -> Result<Rental, ServiceError> {
        let renter = Renter::parse(renter);
        let now = self.clock.now();
        let today = now.date_naive();
        let due = due_date.unwrap_or(today + Days::new(self.loan_days));
        let latest = today + Days::new(Self::MAX_LOAN_DAYS);
        let due_check = if due < today || due > latest {
            Err(ValidationError::field(
                "due_date",
                "out-of-range",
                format!("must be between {today} and {latest}"),
            ))
        } else {
            Ok(())
        };
        let renter = match (renter, due_check) {
            (Ok(r), Ok(())) => r,
            (r, d) => {
                let mut errors = Vec::new();
                if let Err(e) = r {
                    errors.extend(e.errors);
                }
                if let Err(e) = d {
                    errors.extend(e.errors);
                }
                return Err(ValidationError { errors }.into());
            }
        };
        let rental = Rental {
            id: RentalId(self.ids.new_id()),
            book_id,
            renter,
            rented_at: now,
            due_date: due,
            returned_at: None,
        };
        let event = self
            .journal
            .event(AuditAction::Rented, EntityRef::book(book_id), &rental);
        self.rentals.rent(&rental, &event).await?;
        crate::crash_point!("rentals.rent.committed");
        self.journal.committed(Touched::Catalog).await;
        Ok(rental)
    }

    /// Returns a rental. Returning it again is a no-op that gives the same rental.
    pub async fn return_rental(&self, id: RentalId) -> Result<Rental, ServiceError> {
        // The event is about the rental's book: read it first (a rental's book
        // never changes), and record the rental as the return leaves it.
        let now = self.clock.now();
        let mut returned = self.rentals.get(id).await?;
        if returned.returned_at.is_some() {
            return Ok(returned);
        }
        returned.returned_at = Some(now);
        let event = self.journal.event(
            AuditAction::Returned,
            EntityRef::book(returned.book_id),
            &returned,
        );
        let outcome = self.rentals.return_rental(id, now, &event).await?;
        crate::crash_point!("rentals.return.committed");
        if outcome.changed {
            self.journal.committed(Touched::Catalog).await;
        }
        Ok(outcome.rental)
    }

    /// Reads a rental.
    pub async fn get(&self, id: RentalId) -> Result<Rental, ServiceError> {
        Ok(self.rentals.get(id).await?)
    }

    /// Today in UTC, by the injected clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// Lists rentals, newest first.
    pub async fn list(&self, ask: ListRentals) -> Result<Page<Rental>, ServiceError> {
        let mut errors = Vec::new();
        let renter = match ask.renter.as_deref().filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(r) => Renter::parse(r).map_err(|e| errors.extend(e.errors)).ok(),
        };
        let status = match ask.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => s
                .parse::<RentalStatusFilter>()
                .map_err(|e| errors.extend(e.errors))
                .ok(),
        };
        let limit = ask.limit.unwrap_or(CatalogService::DEFAULT_LIMIT);
        if !(1..=CatalogService::MAX_LIMIT).contains(&limit) {
            errors.push(
                ValidationError::field("limit", "out-of-range", "must be between 1 and 100").errors
                    [0]
                .clone(),
            );
        }
        let after = match ask.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match Cursor::decode::<RentalCursor>(c) {
                Ok(rc) => match chrono::DateTime::from_timestamp_micros(rc.t) {
                    Some(t) => Some((t, RentalId(rc.id))),
                    None => {
                        errors.extend(
                            ValidationError::field(
                                "cursor",
                                "bad-cursor",
                                "is not a cursor from this listing",
                            )
                            .errors,
                        );
                        None
                    }
                },
                Err(e) => {
                    errors.extend(e.errors);
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(ValidationError { errors }.into());
        }
        let query = RentalQuery {
            book_id: ask.book_id,
            renter,
            status,
            today: self.today(),
            after,
            limit: limit + 1,
        };
        let mut items = self.rentals.list(&query).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| {
                Cursor::encode(&RentalCursor {
                    t: r.rented_at.timestamp_micros(),
                    id: r.id.0,
                })
            })
        } else {
            None
        };
        Ok(Page::forward(items, next_cursor))
    }
}
