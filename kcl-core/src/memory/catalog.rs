use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    AuditEvent, Book, BookCover, BookId, BookKeys, BookQuery, CursorValue, Isbn, Rental, RentalId,
    RentalQuery, SortKey, SortOrder,
};
use crate::ports::{
    AuditLog, AuditLogError, AuditOutbox, BookRepo, BookRepoError, CoverSwap, RentalRepo,
    RentalRepoError, ReturnOutcome,
};

#[derive(Default)]
struct State {
    books: HashMap<BookId, Book>,
    /// Folded texts of each book, computed on write rather than on every listing.
    keys: HashMap<BookId, BookKeys>,
    isbns: HashMap<Isbn, BookId>,
    rentals: HashMap<RentalId, Rental>,
}

/// Books and rentals in memory, behind one lock (so renting is atomic). Each change
/// keeps its audit event under the same lock, in an outbox that
/// [`AuditOutbox::relay`] empties into an [`AuditLog`].
#[derive(Default)]
pub struct MemoryCatalog {
    state: Mutex<State>,
    /// Audit events of committed changes, until [`AuditOutbox::relay`] moves them.
    outbox: super::outbox::PendingEvents,
}

impl MemoryCatalog {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`BookRepo::insert`] under the lock.
    fn insert_locked(
        &self,
        s: &mut State,
        book: &Book,
        event: &AuditEvent,
    ) -> Result<(), BookRepoError> {
        if s.books.contains_key(&book.id) {
            return Err(BookRepoError::DuplicateId(book.id));
        }
        if s.isbns.contains_key(&book.isbn) {
            return Err(BookRepoError::DuplicateIsbn(book.isbn.clone()));
        }
        let mut b = book.clone();
        b.rented = 0;
        b.times_rented = 0;
        b.cover = None;
        s.isbns.insert(b.isbn.clone(), b.id);
        s.keys.insert(b.id, BookKeys::of(&b));
        s.books.insert(b.id, b);
        self.outbox.push(event);
        Ok(())
    }
}

#[async_trait]
impl BookRepo for MemoryCatalog {
    async fn insert(&self, book: &Book, event: &AuditEvent) -> Result<(), BookRepoError> {
        self.insert_locked(&mut self.lock(), book, event)
    }

    async fn insert_batch(
        &self,
        books: &[(Book, AuditEvent)],
    ) -> Result<Vec<usize>, BookRepoError> {
        crate::ports::check_insert_batch(books)?;
        let mut s = self.lock();
        let mut skipped = Vec::new();
        for (i, (book, event)) in books.iter().enumerate() {
            match self.insert_locked(&mut s, book, event) {
                Ok(()) => {}
                Err(BookRepoError::DuplicateId(_) | BookRepoError::DuplicateIsbn(_)) => {
                    skipped.push(i);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(skipped)
    }

    async fn get(&self, id: BookId) -> Result<Book, BookRepoError> {
        self.lock()
            .books
            .get(&id)
            .cloned()
            .ok_or(BookRepoError::NotFound(id))
    }

    async fn update(
        &self,
        book: &Book,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError> {
        let mut s = self.lock();
        let current = s
            .books
            .get(&book.id)
            .ok_or(BookRepoError::NotFound(book.id))?;
        if current.version != expected_version {
            return Err(BookRepoError::VersionConflict {
                id: book.id,
                expected: expected_version,
                actual: current.version,
            });
        }
        if book.copies < current.rented {
            return Err(BookRepoError::Rented {
                id: book.id,
                rented: current.rented,
            });
        }
        if let Some(other) = s.isbns.get(&book.isbn) {
            if *other != book.id {
                return Err(BookRepoError::DuplicateIsbn(book.isbn.clone()));
            }
        }
        let old_isbn = current.isbn.clone();
        let mut next = book.clone();
        next.rented = current.rented;
        next.times_rented = current.times_rented;
        next.cover = current.cover.clone();
        next.version = expected_version + 1;
        next.created_at = current.created_at;
        s.isbns.remove(&old_isbn);
        s.isbns.insert(next.isbn.clone(), next.id);
        s.keys.insert(next.id, BookKeys::of(&next));
        s.books.insert(next.id, next.clone());
        self.outbox.push(event);
        Ok(next)
    }

    async fn set_cover<'e>(
        &self,
        id: BookId,
        cover: Option<BookCover>,
        if_original: Option<String>,
        event: Option<&'e AuditEvent>,
    ) -> Result<CoverSwap, BookRepoError> {
        let mut s = self.lock();
        let book = s.books.get_mut(&id).ok_or(BookRepoError::NotFound(id))?;
        if let Some(expected) = if_original {
            if book.cover.as_ref().map(|c| &c.original) != Some(&expected) {
                return Ok(CoverSwap::Superseded);
            }
        }
        let unchanged = book.cover == cover;
        let previous = std::mem::replace(&mut book.cover, cover);
        if let Some(event) = event.filter(|_| !unchanged) {
            self.outbox.push(event);
        }
        Ok(CoverSwap::Done { previous })
    }

    async fn delete(
        &self,
        id: BookId,
        expected_version: Option<u64>,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError> {
        let mut s = self.lock();
        let current = s.books.get(&id).ok_or(BookRepoError::NotFound(id))?;
        if let Some(v) = expected_version {
            if current.version != v {
                return Err(BookRepoError::VersionConflict {
                    id,
                    expected: v,
                    actual: current.version,
                });
            }
        }
        if current.rented > 0 {
            return Err(BookRepoError::Rented {
                id,
                rented: current.rented,
            });
        }
        let book = s.books.remove(&id).ok_or(BookRepoError::NotFound(id))?;
        s.isbns.remove(&book.isbn);
        s.keys.remove(&id);
        self.outbox.push(event);
        Ok(book)
    }

    async fn list(&self, q: &BookQuery) -> Result<Vec<Book>, BookRepoError> {
        let s = self.lock();
        let after = q.after.as_ref().map(|(v, id)| {
            let v = match v {
                CursorValue::Int(i) => SortValue::Int(*i),
                CursorValue::Text(t) => SortValue::Text(t.as_str()),
            };
            (v, *id)
        });
        let order = |a: &(SortValue<'_>, BookId, &Book), b: &(SortValue<'_>, BookId, &Book)| {
            let asc = (&a.0, a.1).cmp(&(&b.0, b.1));
            match q.sort.order {
                SortOrder::Asc => asc,
                SortOrder::Desc => asc.reverse(),
            }
        };
        let mut rows: Vec<_> = s
            .books
            .values()
            .filter_map(|b| s.keys.get(&b.id).map(|k| (b, k)))
            .filter(|(b, k)| q.filter.matches_with(b, k))
            .map(|(b, k)| (sort_value(q.sort.key, b, k), b.id, b))
            .filter(|(v, id, _)| match &after {
                None => true,
                Some(after) => match q.sort.order {
                    SortOrder::Asc => (v, id) > (&after.0, &after.1),
                    SortOrder::Desc => (v, id) < (&after.0, &after.1),
                },
            })
            .collect();
        // Only the first `limit` rows need sorting.
        let limit = (q.limit as usize).min(rows.len());
        if limit == 0 {
            return Ok(Vec::new());
        }
        if rows.len() > limit {
            rows.select_nth_unstable_by(limit - 1, order);
            rows.truncate(limit);
        }
        rows.sort_by(order);
        Ok(rows.into_iter().map(|(_, _, b)| b.clone()).collect())
    }
}

fn sort_value<'a>(key: SortKey, b: &Book, k: &'a BookKeys) -> SortValue<'a> {
    match key {
        SortKey::Title => SortValue::Text(&k.title),
        SortKey::Author => SortValue::Text(&k.author),
        SortKey::Year => SortValue::Int(i64::from(b.year)),
        SortKey::Price => SortValue::Int(b.price.cents()),
        SortKey::CreatedAt => SortValue::Int(b.created_at.timestamp_micros()),
        SortKey::Rentals => SortValue::Int(i64::try_from(b.times_rented).unwrap_or(i64::MAX)),
    }
}

/// A sort value borrowed from a stored book; orders like [`CursorValue`]
/// (every integer before every text).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue<'a> {
    Int(i64),
    Text(&'a str),
}

#[async_trait]
impl RentalRepo for MemoryCatalog {
    async fn rent(&self, rental: &Rental, event: &AuditEvent) -> Result<(), RentalRepoError> {
        let mut s = self.lock();
        if s.rentals.contains_key(&rental.id) {
            return Err(RentalRepoError::DuplicateId(rental.id));
        }
        let book = s
            .books
            .get_mut(&rental.book_id)
            .ok_or(RentalRepoError::BookNotFound(rental.book_id))?;
        if book.rented >= book.copies {
            return Err(RentalRepoError::NoCopyAvailable(rental.book_id));
        }
        book.rented += 1;
        book.times_rented += 1;
        let mut r = rental.clone();
        r.returned_at = None;
        s.rentals.insert(r.id, r);
        self.outbox.push(event);
        Ok(())
    }

    async fn return_rental(
        &self,
        id: RentalId,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ReturnOutcome, RentalRepoError> {
        let mut s = self.lock();
        let r = s
            .rentals
            .get_mut(&id)
            .ok_or(RentalRepoError::NotFound(id))?;
        if r.returned_at.is_some() {
            return Ok(ReturnOutcome {
                rental: r.clone(),
                changed: false,
            });
        }
        r.returned_at = Some(at);
        let rental = r.clone();
        if let Some(b) = s.books.get_mut(&rental.book_id) {
            b.rented = b.rented.saturating_sub(1);
        }
        self.outbox.push(event);
        Ok(ReturnOutcome {
            rental,
            changed: true,
        })
    }

    async fn get(&self, id: RentalId) -> Result<Rental, RentalRepoError> {
        self.lock()
            .rentals
            .get(&id)
            .cloned()
            .ok_or(RentalRepoError::NotFound(id))
    }

    async fn list(&self, q: &RentalQuery) -> Result<Vec<Rental>, RentalRepoError> {
        let s = self.lock();
        let mut rows: Vec<_> = s
            .rentals
            .values()
            .filter(|r| q.matches(r))
            .cloned()
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse((r.rented_at, r.id)));
        rows.truncate(q.limit as usize);
        Ok(rows)
    }
}

#[async_trait]
impl AuditOutbox for MemoryCatalog {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        self.outbox.relay(log, limit).await
    }
}
