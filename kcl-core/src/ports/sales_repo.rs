use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    AuditEvent, DayTotals, LoadOutcome, ReportLine, RowSpool, SalesFile, SalesRow, StockChange,
    StockLevel, StoreDay, SummaryQuery, SummaryRow,
};
use crate::BoxError;

/// Why a [`SalesRepo`] or [`SalesDays`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SalesRepoError {
    /// Nothing with this key.
    #[error("not found: {0}")]
    NotFound(String),
    /// Another change got there first (a concurrent load of the same name); retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed for this backend (a value out of its range).
    #[error("invalid sales request: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("sales store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else (including a spool that cannot be read).
    #[error("sales store failure: {0}")]
    Internal(#[source] BoxError),
}

/// Loaded sales lines, the files they came from, and stock per SKU.
///
/// `load` is the one write of a file and is atomic: either every row of the spool
/// is stored, the earlier version of the same name (if any) removed and stock
/// adjusted for both, or nothing changed.
#[async_trait]
pub trait SalesRepo: Send + Sync {
    /// Loads a file's spooled rows in one transaction.
    ///
    /// - A current file with the same `sha256` (under any name): nothing changes,
    ///   [`LoadOutcome::Duplicate`] names it.
    /// - A current file with the same `name` and other content: a correction. Its
    ///   rows are deleted and their quantities given back to stock, then the new
    ///   rows are inserted and their quantities taken from stock.
    ///
    /// Loads are serialised against each other, so two loads of one name never
    /// both become current.
    ///
    /// A load stores `event`, with `replaced` (the replaced file's id, or `null`)
    /// added by [`AuditEvent::noting`], in the transaction that makes the file
    /// current (like [`BookRepo`](super::BookRepo)'s writes, in the store's audit log
    /// or its [`AuditOutbox`](super::AuditOutbox)); a duplicate stores none.
    async fn load(
        &self,
        file: &SalesFile,
        rows: &dyn RowSpool,
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError>;

    /// Whether this store can load a file's rows while the file is still being read
    /// ([`load_live`](Self::load_live)). When false (the default) the sales service
    /// spools every valid row first, then calls [`load`](Self::load).
    fn loads_live(&self) -> bool {
        false
    }

    /// Loads a file's rows as they are validated, with [`load`](Self::load)'s
    /// contract: the same duplicate check, correction and serialisation, all or
    /// nothing. `file` is the load as known before reading: its `sha256` is that of
    /// the whole file (hashed first), its `rows` is not known yet (0).
    ///
    /// The rows arrive in batches on [`LiveRows::rows`], which closes when the
    /// reading ends; then [`LiveRows::verdict`] says whether the load stands
    /// ([`LiveVerdict::Commit`], with the file's record and the audit event, which
    /// is stored as `load` stores its `event`) or not. A duplicate is answered as
    /// soon as it is known, without reading the rows (the receiver is dropped: the
    /// reader goes on without it).
    ///
    /// Returns `Ok(None)` when the verdict is [`LiveVerdict::Abandon`] or never
    /// comes: nothing changed. A store whose [`loads_live`](Self::loads_live) is
    /// false refuses (`InvalidInput`), the default.
    async fn load_live(
        &self,
        file: &SalesFile,
        live: LiveRows,
    ) -> Result<Option<LoadOutcome>, SalesRepoError> {
        let _ = (file, live);
        Err(SalesRepoError::InvalidInput(
            "this sales store loads finished spools only".into(),
        ))
    }

    /// The current file of a name, if any.
    async fn current_file(&self, name: &str) -> Result<Option<SalesFile>, SalesRepoError>;

    /// Totals of these stores and days, from the loaded lines; days without lines
    /// are returned with zero totals. Same order as `days`.
    async fn day_totals(&self, days: &[StoreDay]) -> Result<Vec<DayTotals>, SalesRepoError>;

    /// Lines, quantity and revenue grouped as the query says, in key order.
    async fn summary(&self, query: &SummaryQuery) -> Result<Vec<SummaryRow>, SalesRepoError>;

    /// Report lines (per day, store and SKU) of a period, optionally one store, in
    /// (date, store, sku) order; at most `limit` lines.
    async fn report_lines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReportLine>, SalesRepoError>;

    /// A SKU's stock; `None` when nothing was ever sold, set or received.
    async fn stock(&self, sku: &str) -> Result<Option<StockLevel>, SalesRepoError>;

    /// Sets or adds to a SKU's stock; returns the new level. Stores `event`, with
    /// `on_hand` (the new level, as text) added by [`AuditEvent::noting`], in the
    /// same transaction.
    async fn change_stock(
        &self,
        sku: &str,
        change: StockChange,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<StockLevel, SalesRepoError>;
}

/// The rows of a [`SalesRepo::load_live`], delivered while the file is read.
#[derive(Debug)]
pub struct LiveRows {
    /// Valid rows in file order, in batches; closed when the reading ends (or stops).
    pub rows: tokio::sync::mpsc::Receiver<Vec<SalesRow>>,
    /// How the reading ended, sent once the last row was sent.
    pub verdict: tokio::sync::oneshot::Receiver<LiveVerdict>,
}

/// How the reading of a [`SalesRepo::load_live`] file ended.
#[derive(Debug)]
pub enum LiveVerdict {
    /// Every row was delivered and the load stands: the file's record (with its row
    /// count, which the delivered rows must match) and the audit event to store.
    Commit {
        /// The file as it is recorded.
        file: SalesFile,
        /// The event stored with the load (see [`SalesRepo::load`]).
        event: AuditEvent,
    },
    /// Nothing may be loaded: the file is unusable, has no valid row, has rejected
    /// rows under the strict policy, or could not be read.
    Abandon,
}

/// Per store and day totals, kept beside the audit log (DynamoDB on the AWS
/// profile). Writes are absolute values, so repeating one is harmless.
#[async_trait]
pub trait SalesDays: Send + Sync {
    /// Stores these totals, replacing what was kept for each store and day; a
    /// total with zero lines removes the day.
    async fn put(&self, days: &[DayTotals]) -> Result<(), SalesRepoError>;

    /// A store's days from `from` to `to` inclusive, in date order.
    async fn range(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, SalesRepoError>;
}
