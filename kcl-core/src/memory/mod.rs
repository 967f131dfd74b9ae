//! In-memory adapters for every port: for tests, examples and embedding without
//! persistence. They follow the same contracts as the persistent adapters (the
//! conformance kits run against them too).

mod audit;
mod blobs;
mod cache;
mod catalog;
#[cfg(test)]
mod conformance_tests;
mod jobs;
mod outbox;
mod queue;
mod report_runs;
mod sales;
mod sessions;
mod spool;
mod status;

use std::sync::Arc;

pub use audit::MemoryAuditLog;
pub use blobs::MemoryBlobStore;
pub use cache::MemoryCache;
pub use catalog::MemoryCatalog;
pub use jobs::MemoryJobs;
pub use outbox::AllOutboxes;
pub use queue::MemoryQueue;
pub use report_runs::MemoryReportRuns;
pub use sales::{MemorySales, MemorySalesDays};
pub use sessions::MemoryEndedSessions;
pub use spool::MemorySpooler;
pub use status::MemoryStatusStore;

use crate::ports::{SystemClock, UuidV7Ids};
use crate::services::{Ports, Services};

/// Every in-memory adapter, wired together.
///
/// ```
/// let kcl = kcl_core::memory::MemoryBackend::new().services();
/// # let _ = kcl;
/// ```
#[derive(Clone, Default)]
pub struct MemoryBackend {
    /// Books and rentals.
    pub catalog: Arc<MemoryCatalog>,
    /// Audit events.
    pub audit: Arc<MemoryAuditLog>,
    /// Cache.
    pub cache: Arc<MemoryCache>,
    /// Blobs.
    pub blobs: Arc<MemoryBlobStore>,
    /// Task queue.
    pub queue: Arc<MemoryQueue>,
    /// Processing statuses.
    pub status: Arc<MemoryStatusStore>,
    /// OCR jobs.
    pub jobs: Arc<MemoryJobs>,
    /// The OCR task queue.
    pub ocr_queue: Arc<MemoryQueue>,
    /// Sales lines, files and stock.
    pub sales: Arc<MemorySales>,
    /// Per store and day sales totals.
    pub sales_days: Arc<MemorySalesDays>,
    /// Sessions ended by a logout.
    pub ended_sessions: Arc<MemoryEndedSessions>,
    /// Runs of scheduled reports.
    pub report_runs: Arc<MemoryReportRuns>,
}

impl MemoryBackend {
    /// Empty stores.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ports, with the system clock and UUIDv7 ids.
    pub fn ports(&self) -> Ports {
        Ports {
            books: self.catalog.clone(),
            rentals: self.catalog.clone(),
            audit: self.audit.clone(),
            outbox: Arc::new(AllOutboxes(vec![
                self.catalog.clone(),
                self.jobs.clone(),
                self.sales.clone(),
            ])),
            cache: self.cache.clone(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
            probes: Vec::new(),
            blobs: self.blobs.clone(),
            tasks: self.queue.clone(),
            status: self.status.clone(),
            thumbnailer: None,
            jobs: self.jobs.clone(),
            ocr_tasks: self.ocr_queue.clone(),
            ocr: None,
            sales: self.sales.clone(),
            sales_days: self.sales_days.clone(),
            reports: None,
            curated: None,
            pdf_reports: None,
            replication: Arc::new(crate::ports::NoReplicas),
            spools: Arc::new(MemorySpooler),
            ended_sessions: self.ended_sessions.clone(),
            report_runs: self.report_runs.clone(),
        }
    }

    /// The services over these stores.
    pub fn services(&self) -> Services {
        Services::new(self.ports())
    }
}
