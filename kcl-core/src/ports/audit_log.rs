use async_trait::async_trait;

use crate::domain::{AuditEvent, AuditQuery, EntityRef};
use crate::BoxError;

/// Why an [`AuditLog`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditLogError {
    /// An event with this id was already appended.
    #[error("audit event {0} already exists")]
    DuplicateId(crate::domain::EventId),
    /// The request is malformed for this backend.
    #[error("invalid audit query: {0}")]
    InvalidInput(String),
    /// The log cannot be reached right now; retrying may succeed.
    #[error("audit log unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("audit log failure: {0}")]
    Internal(#[source] BoxError),
}

/// An append-only log of domain events, read back per entity.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an event.
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError>;

    /// An entity's events, oldest first (by `occurred_at`, then append order),
    /// at most `limit` of them.
    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError>;

    /// The events `query` asks for, across entities, newest first (by
    /// `occurred_at`, then event id, both descending), at most `query.limit` of
    /// them. The next page is the same query with
    /// [`before`](AuditQuery::before) set to the last event's position.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use kcl_core::domain::{AuditAction, AuditQuery};
    /// use kcl_core::memory::MemoryAuditLog;
    /// use kcl_core::ports::AuditLog;
    ///
    /// let log = MemoryAuditLog::default();
    /// let mut q = AuditQuery::new(20);
    /// q.action = Some(AuditAction::Deleted);
    /// assert!(log.search(&q).await.unwrap().is_empty());
    /// # });
    /// ```
    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError>;
}

/// Audit events a repository wrote in the same transaction as the change they
/// record, waiting to be moved to an [`AuditLog`] that lives elsewhere (DynamoDB
/// beside a relational catalog): a transactional outbox.
///
/// A repository that keeps its events straight in its own audit table has nothing
/// pending and answers `Ok(0)` without a query. Relaying is at least once: an event
/// is removed from the outbox only after `log` took it, and `log` drops a second
/// copy by event id ([`AuditLogError::DuplicateId`] counts as taken), so any
/// number of processes may relay at once.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kcl_core::memory::{MemoryAuditLog, MemoryCatalog};
/// use kcl_core::ports::AuditOutbox;
///
/// let (catalog, log) = (MemoryCatalog::default(), MemoryAuditLog::default());
/// assert_eq!(catalog.relay(&log, 100).await.unwrap(), 0);
/// # });
/// ```
#[async_trait]
pub trait AuditOutbox: Send + Sync {
    /// Moves up to `limit` pending events, oldest first, to `log`; returns how
    /// many moved. On an error the events not yet moved stay pending.
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError>;
}
