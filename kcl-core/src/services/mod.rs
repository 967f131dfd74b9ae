//! Services: the business rules, written against ports only.

mod audit;
mod catalog;
mod covers;
mod error;
mod health;
mod jobs;
mod journal;
mod rentals;
mod sales;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use audit::{audit_bound, AuditService};
pub use catalog::{
    CatalogService, ImportOutcome, ListBooks, SkippedBook, IMPORT_BATCH, MAX_SKIPPED_LISTED,
};
pub use covers::{
    CoverAccepted, CoverImage, CoverService, CoverSettings, TaskHandler, TaskOutcome,
};
pub use error::ServiceError;
pub use health::{BlobStoreProbe, HealthService, QueueProbe};
pub use jobs::{JobList, JobService, JobSettings, JobView};
pub use rentals::{ListRentals, RentalService};
pub use sales::{
    file_stem, parse_quantity, CsvReports, FileProblem, IngestOptions, IngestReport, IngestStatus,
    ReportFormat, ReportWritten, SaleLine, SalesService, SalesSettings, ScheduledReports,
    MAX_IDEMPOTENCY_KEY_CHARS, MAX_SALE_LINES, SCHEDULE_LEASE, SINGLE_SALES_PREFIX,
};

use crate::ports::EndedSessions;
use crate::ports::{
    AuditLog, AuditOutbox, BlobStore, BookRepo, Cache, Clock, CuratedWriter, HealthProbe, IdSource,
    JobRepo, OcrEngine, RentalRepo, ReportWriter, SalesDays, SalesRepo, Spooler, StatusStore,
    TaskQueue, Thumbnailer,
};

/// Every port the services need, ready to use. The composition root fills this in.
///
/// New ports may be added in a minor release (`#[non_exhaustive]`): outside
/// `kcl-core`, start from [`MemoryBackend::ports`](crate::memory::MemoryBackend::ports)
/// (every port in memory) and replace the ones you have.
///
/// ```
/// use std::sync::Arc;
/// let mut ports = kcl_core::memory::MemoryBackend::new().ports();
/// ports.cache = Arc::new(kcl_core::memory::MemoryCache::default()); // yours here
/// let services = kcl_core::Services::new(ports);
/// # drop(services);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Ports {
    /// The catalog's books, their covers and versions.
    pub books: Arc<dyn BookRepo>,
    /// Rentals (on the same store as the books).
    pub rentals: Arc<dyn RentalRepo>,
    /// Where audit events end up and are read back (a book's, job's or file's
    /// history).
    pub audit: Arc<dyn AuditLog>,
    /// The audit events that the books' and rentals' store wrote with its changes,
    /// waiting for `audit` (the same store when it keeps its own audit log, which
    /// then has nothing pending).
    pub outbox: Arc<dyn AuditOutbox>,
    /// Shared short-lived state: cached catalog reads (retired together by a
    /// generation key), logged-out sessions, failed-login counts.
    pub cache: Arc<dyn Cache>,
    /// The time every rule reads (due dates, deadlines, graces): a
    /// [`ManualClock`](crate::ports::ManualClock) in tests.
    pub clock: Arc<dyn Clock>,
    /// New ids for books, rentals, jobs and events (UUIDv7 in production).
    pub ids: Arc<dyn IdSource>,
    /// What `/health` asks: one probe per dependency the deployment has.
    pub probes: Vec<Arc<dyn HealthProbe>>,
    /// Blob storage (cover images).
    pub blobs: Arc<dyn BlobStore>,
    /// The task queue (thumbnail tasks).
    pub tasks: Arc<dyn TaskQueue>,
    /// Where a cover's processing status (PENDING, PROCESSING, DONE, ERROR) is
    /// kept, for clients that poll it.
    pub status: Arc<dyn StatusStore>,
    /// The thumbnailer; without one, cover uploads answer 503.
    pub thumbnailer: Option<Arc<dyn Thumbnailer>>,
    /// OCR jobs.
    pub jobs: Arc<dyn JobRepo>,
    /// The OCR task queue (its own, apart from the thumbnail tasks).
    pub ocr_tasks: Arc<dyn TaskQueue>,
    /// The OCR engine; without one, OCR endpoints answer 503.
    pub ocr: Option<Arc<dyn OcrEngine>>,
    /// Sales lines, files and stock.
    pub sales: Arc<dyn SalesRepo>,
    /// Per store and day sales totals.
    pub sales_days: Arc<dyn SalesDays>,
    /// Where sales reports are written (a separate bucket on AWS); `None` is
    /// `blobs`.
    pub reports: Option<Arc<dyn BlobStore>>,
    /// The writer of loaded sales files' curated copies (Parquet); without one,
    /// loads write none.
    pub curated: Option<Arc<dyn CuratedWriter>>,
    /// The PDF sales report writer; without one, PDF reports answer 503
    /// `not-enabled` (CSV reports are core's own).
    pub pdf_reports: Option<Arc<dyn ReportWriter>>,
    /// Where a sales load spools its valid rows between reading the file and
    /// loading them (a CSV file in the spool folder on the hosts).
    pub spools: Arc<dyn Spooler>,
    /// Sessions ended by a logout (in the deployment's database, so that a copied
    /// session cookie stays refused after a restart or a cache flush).
    pub ended_sessions: Arc<dyn EndedSessions>,
    /// Runs of scheduled reports, one per schedule and day across every process
    /// (in the deployment's database).
    pub report_runs: Arc<dyn crate::ports::ReportRuns>,
    /// Where the database's log stands, for reads on its replicas
    /// ([`NoReplicas`](crate::ports::NoReplicas): every read on the primary).
    pub replication: Arc<dyn crate::ports::Replication>,
}

/// Tunables of the services; [`Settings::default`] is what the server uses. New
/// settings may come in a minor release (`#[non_exhaustive]`): start from the
/// default and set fields.
///
/// ```
/// let mut settings = kcl_core::services::Settings::default();
/// settings.list_cache_ttl = std::time::Duration::ZERO;
/// # drop(settings);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// How long a book read stays cached (invalidated on every change anyway).
    pub book_cache_ttl: std::time::Duration,
    /// How long a listing page stays cached; every write to the catalog (including
    /// rentals) invalidates all pages at once. Zero disables listing caching.
    pub list_cache_ttl: std::time::Duration,
    /// Cover uploads and thumbnails.
    pub covers: CoverSettings,
    /// OCR jobs.
    pub jobs: JobSettings,
    /// Sales files and reports.
    pub sales: SalesSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            book_cache_ttl: std::time::Duration::from_secs(300),
            list_cache_ttl: std::time::Duration::from_secs(60),
            covers: CoverSettings::default(),
            jobs: JobSettings::default(),
            sales: SalesSettings::default(),
        }
    }
}

/// The services a host serves. Cheap to clone. Built by [`Services::new`] (new
/// services may come in a minor release: `#[non_exhaustive]`).
#[derive(Clone)]
#[non_exhaustive]
pub struct Services {
    /// Books: create, read (cached), update with versions, delete, list and search.
    pub catalog: Arc<CatalogService>,
    /// Renting and returning copies, and listing rentals (overdue included).
    pub rentals: Arc<RentalService>,
    /// Searches of the audit log across entities (every deletion last week).
    pub audit: Arc<AuditService>,
    /// Readiness: every probe, each within its timeout.
    pub health: Arc<HealthService>,
    /// Cover images and thumbnails.
    pub covers: Arc<CoverService>,
    /// OCR jobs.
    pub jobs: Arc<JobService>,
    /// Sales files, stock, totals and reports.
    pub sales: Arc<SalesService>,
    /// The task queues by kind (`thumbnail`, `ocr`), for metrics and operations.
    pub queues: Arc<[(&'static str, Arc<dyn TaskQueue>)]>,
    /// The cache every server of a deployment shares (Redis) or this process's own:
    /// hosts keep short-lived shared state in it (logged-out sessions, failed logins).
    pub cache: Arc<dyn Cache>,
    /// Sessions ended by a logout: the durable record behind [`cache`](Self::cache)'s
    /// copy, which hosts check sessions against.
    pub ended_sessions: Arc<dyn EndedSessions>,
}

impl Services {
    /// Builds every service from the ports, with default settings.
    pub fn new(ports: Ports) -> Self {
        Self::with_settings(ports, &Settings::default())
    }

    /// Builds every service from the ports and settings.
    pub fn with_settings(ports: Ports, settings: &Settings) -> Self {
        let catalog = Arc::new(CatalogService::new(&ports, settings));
        let covers = Arc::new(CoverService::new(&ports, catalog.clone(), settings.covers));
        let jobs = Arc::new(JobService::new(&ports, settings.jobs));
        let sales = Arc::new(SalesService::new(&ports, settings.sales.clone()));
        Self {
            sales,
            queues: Arc::new([
                ("thumbnail", ports.tasks.clone()),
                ("ocr", ports.ocr_tasks.clone()),
            ]),
            rentals: Arc::new(RentalService::new(&ports)),
            audit: Arc::new(AuditService::new(&ports)),
            catalog,
            covers,
            jobs,
            health: Arc::new(HealthService::new(ports.probes)),
            cache: ports.cache,
            ended_sessions: ports.ended_sessions,
        }
    }
}

/// Moves the audit events the store wrote with its changes to the audit log,
/// batch after batch until none is left; a failure is logged and left for the
/// next relay (the events stay in the outbox). Returns how many moved.
pub(crate) async fn relay_audit(outbox: &dyn AuditOutbox, audit: &dyn AuditLog) -> u64 {
    const BATCH: u32 = 100;
    let mut moved = 0;
    loop {
        match outbox.relay(audit, BATCH).await {
            Ok(n) => {
                moved += u64::from(n);
                if n < BATCH {
                    return moved;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "audit outbox: relay failed, retried later");
                return moved;
            }
        }
    }
}
