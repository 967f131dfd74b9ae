use async_trait::async_trait;

use crate::domain::{AuditEvent, Book, BookCover, BookId, BookQuery, Isbn};
use crate::BoxError;

/// Why a [`BookRepo`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BookRepoError {
    /// No book with this id.
    #[error("book {0} not found")]
    NotFound(BookId),
    /// Another book already has this ISBN.
    #[error("a book with ISBN {0} already exists")]
    DuplicateIsbn(Isbn),
    /// A book with this id already exists.
    #[error("book {0} already exists")]
    DuplicateId(BookId),
    /// The stored version is not the expected one (someone else updated the book).
    #[error("book {id} is at version {actual}, not {expected}")]
    VersionConflict {
        /// The book.
        id: BookId,
        /// The version the caller based its change on.
        expected: u64,
        /// The stored version.
        actual: u64,
    },
    /// The book has copies out: it cannot be deleted, nor its copies reduced below them.
    #[error("book {id} has {rented} copies rented")]
    Rented {
        /// The book.
        id: BookId,
        /// Copies currently rented.
        rented: u32,
    },
    /// The request is malformed for this backend.
    #[error("invalid book query: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("book store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("book store failure: {0}")]
    Internal(#[source] BoxError),
}

/// The most books one [`BookRepo::insert_batch`] call stores.
pub const MAX_INSERT_BATCH: usize = 1000;

/// Refuses a batch over [`MAX_INSERT_BATCH`] (for adapters' `insert_batch`).
pub fn check_insert_batch(books: &[(Book, AuditEvent)]) -> Result<(), BookRepoError> {
    if books.len() > MAX_INSERT_BATCH {
        return Err(BookRepoError::InvalidInput(format!(
            "a batch of {} books; at most {MAX_INSERT_BATCH} are stored at once",
            books.len()
        )));
    }
    Ok(())
}

/// The outcome of [`BookRepo::set_cover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoverSwap {
    /// The cover was set; this was the one before.
    Done {
        /// The previous cover, whose files the caller may now delete.
        previous: Option<BookCover>,
    },
    /// The cover is no longer the one `if_original` named (replaced meanwhile);
    /// nothing changed.
    Superseded,
}

/// Books, keyed by id and unique by ISBN.
///
/// The `rented` field of stored books is owned by the [`RentalRepo`](super::RentalRepo)
/// on the same store, and `cover` by [`set_cover`](Self::set_cover): `insert` and
/// `update` ignore the caller's values (a new book has no cover).
///
/// **Audit events** travel with the change they record: each write takes its
/// [`AuditEvent`] and stores it in the same transaction, in the store's own audit
/// log or in its [`AuditOutbox`](super::AuditOutbox), and only when the write
/// changes something. A crash can lose neither without the other.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BookRepo: Send + Sync {
    /// Stores a new book, and `event` with it.
    async fn insert(&self, book: &Book, event: &AuditEvent) -> Result<(), BookRepoError>;

    /// Stores new books in one transaction, each with its event (`books[i].1`):
    /// a bulk import's batch. A book whose id or ISBN is already taken (by a stored
    /// book or an earlier book of the batch) is skipped, and its event with it;
    /// the others are stored. Returns the positions in `books` of the skipped
    /// books, in order. At most [`MAX_INSERT_BATCH`] books (more:
    /// [`BookRepoError::InvalidInput`], nothing stored).
    async fn insert_batch(&self, books: &[(Book, AuditEvent)])
        -> Result<Vec<usize>, BookRepoError>;

    /// Puts the search index back in shape after a bulk import (called once at the
    /// end of [`CatalogService::import`](crate::services::CatalogService::import)).
    /// Stores whose index needs nothing leave the default, which does nothing. The
    /// embedded store merges its full-text index into one segment: each batch
    /// leaves one of its own, and every search term is looked up in each (100,000
    /// books seeded in batches: a dense search's page 3.7 ms, 0.25 ms merged).
    async fn compact_search(&self) -> Result<(), BookRepoError> {
        Ok(())
    }

    /// Reads a book.
    async fn get(&self, id: BookId) -> Result<Book, BookRepoError>;

    /// Replaces a book's fields if its stored version is `expected_version`;
    /// the new state (`book.version` = expected + 1) is returned as stored.
    /// Refuses `copies` below the copies rented. Stores `event` with the change.
    async fn update(
        &self,
        book: &Book,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError>;

    /// Deletes a book that has no copy rented (and is at `expected_version`, when given);
    /// returns it as it was. Stores `event` with the deletion.
    async fn delete(
        &self,
        id: BookId,
        expected_version: Option<u64>,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError>;

    /// Lists books (see [`BookQuery`] for the contract).
    async fn list(&self, query: &BookQuery) -> Result<Vec<Book>, BookRepoError>;

    /// How many books pass `filter`, counting no further than `cap` (the answer is
    /// at most `cap`): "1-20 of 1,000+" without counting a whole dense search. The
    /// default lists up to `cap` books; stores override it with a count.
    async fn count(
        &self,
        filter: &crate::domain::BookFilter,
        cap: u32,
    ) -> Result<u64, BookRepoError> {
        let query = BookQuery {
            filter: filter.clone(),
            sort: crate::domain::BookSort::default(),
            after: None,
            limit: cap,
        };
        Ok(self.list(&query).await?.len() as u64)
    }

    /// Sets (or, with `None`, clears) a book's cover, atomically and without
    /// changing its version. With `if_original`, only when the stored cover's original
    /// is that key (a worker linking the thumbnail of the upload it processed must not
    /// overwrite a newer upload). Stores `event`, if any, when the cover changes
    /// (not when [`CoverSwap::Superseded`], nor when it already was `cover`: a task
    /// done twice records one event).
    async fn set_cover<'e>(
        &self,
        id: BookId,
        cover: Option<BookCover>,
        if_original: Option<String>,
        event: Option<&'e AuditEvent>,
    ) -> Result<CoverSwap, BookRepoError>;
}
