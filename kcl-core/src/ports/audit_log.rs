use async_trait::async_trait;

use crate::domain::{AuditEvent, EntityRef};
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
}
