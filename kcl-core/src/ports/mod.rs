//! Ports: the narrow, object-safe traits adapters implement.
//!
//! Each port has one error enum telling apart not-found, conflict, invalid input,
//! unavailable (retryable) and internal failures. Services hold ports as
//! `Arc<dyn Port>`.

mod audit_log;
mod blob_store;
mod book_repo;
mod cache;
mod clock;
mod ended_sessions;
mod error;
mod formats;
mod health;
mod job_repo;
mod ocr;
mod rental_repo;
mod replication;
mod report_runs;
mod row_spool;
mod sales_repo;
mod status_store;
mod task_queue;
mod thumbnailer;

pub use audit_log::{AuditLog, AuditLogError, AuditOutbox};
pub use blob_store::{Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError};
#[cfg(test)]
pub(crate) use book_repo::MockBookRepo;
pub use book_repo::{check_insert_batch, BookRepo, BookRepoError, CoverSwap, MAX_INSERT_BATCH};
pub use cache::{Cache, CacheError};
pub use clock::{Clock, IdSource, ManualClock, SequentialIds, SystemClock, UuidV7Ids};
pub use ended_sessions::{
    check_session_id, EndedSessions, EndedSessionsError, MAX_SESSION_ID_BYTES,
};
pub use error::{ErrorKind, PortError, StoreError};
pub use formats::{CuratedError, CuratedPart, CuratedWriter, ReportError, ReportWriter};
pub use health::{HealthProbe, HealthReport};
pub use job_repo::{ItemStart, JobPage, JobRepo, JobRepoError};
pub use ocr::{OcrEngine, OcrError, OcrText};
pub use rental_repo::{RentalRepo, RentalRepoError, ReturnOutcome};
pub use replication::{LogPosition, NoReplicas, Replication, ReplicationError};
pub use report_runs::{
    check_schedule_name, ReportRun, ReportRuns, ReportRunsError, MAX_SCHEDULE_NAME,
};
pub use row_spool::{RowSpool, SpoolWriter, SpooledRow, SpooledRows, Spooler, SPOOL_COLUMNS};
pub use sales_repo::{LiveRows, LiveVerdict, SalesDays, SalesRepo, SalesRepoError};
pub use status_store::{
    ProcessingState, ProcessingStatus, StatusCondition, StatusStore, StatusStoreError,
};
pub use task_queue::{Delivery, QueueConfig, QueueError, QueueStats, ReceiptHandle, TaskQueue};
pub use thumbnailer::{ImageError, ImageFormat, ImageInfo, ImageLimits, Thumbnail, Thumbnailer};

#[cfg(test)]
pub(crate) mod audit_log_mock {
    pub(crate) use super::audit_log::MockAuditLog;
}
