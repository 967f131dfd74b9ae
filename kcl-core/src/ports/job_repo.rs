use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{AuditEvent, ItemId, ItemResult, Job, JobId, JobItem, StatusCounts};
use crate::BoxError;

/// Why a [`JobRepo`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobRepoError {
    /// No job with this id.
    #[error("job {0} not found")]
    NotFound(JobId),
    /// A job or item with this id already exists.
    #[error("duplicate id: {0}")]
    Duplicate(String),
    /// The request is malformed for this backend.
    #[error("invalid job request: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("job store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("job store failure: {0}")]
    Internal(#[source] BoxError),
}

/// One page of jobs, newest first, with their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    /// The jobs of the page and their items' counts by status.
    pub jobs: Vec<(Job, StatusCounts)>,
    /// Jobs in all.
    pub total: u64,
}

/// What `start_item` found.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemStart {
    /// The item is now PROCESSING (it was PENDING, or PROCESSING after a worker died).
    Started(JobItem),
    /// The item is final already (a repeated task): nothing to do.
    Final(JobItem),
    /// No such item (its job was deleted).
    Gone,
}

/// OCR jobs and their items. Item status changes are conditional and atomic, so a
/// late or repeated worker cannot overwrite a final status.
///
/// Like [`BookRepo`](super::BookRepo)'s writes, `create`, `rename` and `delete`
/// store their audit event in their own transaction (the store's audit log, or its
/// [`AuditOutbox`](super::AuditOutbox)).
#[async_trait]
pub trait JobRepo: Send + Sync {
    /// Stores a job and all its items, and `event`, in one transaction.
    async fn create(
        &self,
        job: &Job,
        items: &[JobItem],
        event: &AuditEvent,
    ) -> Result<(), JobRepoError>;

    /// A job and its items (in creation order).
    async fn get(&self, id: JobId) -> Result<(Job, Vec<JobItem>), JobRepoError>;

    /// A page of jobs, newest first (`created_at`, then id), `offset` jobs skipped.
    async fn list(&self, offset: u64, limit: u32) -> Result<JobPage, JobRepoError>;

    /// Renames a job, storing `event` with the change; returns it as stored.
    async fn rename(
        &self,
        id: JobId,
        name: &str,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Job, JobRepoError>;

    /// Deletes a job and its items, and stores `event`, in one transaction; returns
    /// what was deleted.
    async fn delete(
        &self,
        id: JobId,
        event: &AuditEvent,
    ) -> Result<(Job, Vec<JobItem>), JobRepoError>;

    /// Marks an item PROCESSING if it is PENDING or PROCESSING (a retry after a
    /// worker died); an EXPIRED or other final item is not restarted. When it
    /// starts, `event` (the job's history: `item_processing`) is stored with the
    /// change, in one transaction.
    async fn start_item(
        &self,
        job: JobId,
        item: ItemId,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ItemStart, JobRepoError>;

    /// Records an item's result if it is still unfinished (PENDING or PROCESSING),
    /// on the item and on every unfinished item that is its duplicate; returns how
    /// many items changed (0: it was final already, or gone). When any changed,
    /// `event` (`item_done` or `item_error`) is stored with the change, in one
    /// transaction.
    async fn finish_item(
        &self,
        job: JobId,
        item: ItemId,
        result: &ItemResult,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<u64, JobRepoError>;

    /// Marks EXPIRED every unfinished item whose deadline is before `now`, storing
    /// `event(job, item)` (`item_expired`) for each with the change, in one
    /// transaction; returns how many.
    async fn expire(
        &self,
        now: DateTime<Utc>,
        event: &(dyn Fn(JobId, ItemId) -> AuditEvent + Send + Sync),
    ) -> Result<u64, JobRepoError>;
}
