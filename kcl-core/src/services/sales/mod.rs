//! Sales files: validate, load, keep stock and daily totals, write curated copies,
//! and answer queries and reports.
//!
//! - [`ingest`]: a file's one streaming pass, its load and the follow-up steps;
//! - [`spool`]: the spool folder, its threads and files;
//! - [`curated`]: the curated copies (through [`CuratedWriter`]);
//! - [`reports`]: reports (through [`ReportWriter`]: CSV here, PDF in an adapter);
//! - [`stock`] and [`queries`]: stock changes and reads.

mod curated;
mod ingest;
mod queries;
mod reports;
mod scheduled;
mod single;
mod spool;
mod stock;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::journal::Journal;
use super::ServiceError;
use crate::domain::{IngestPolicy, Quantity, RowError, ValidationError, MAX_ID_CHARS};
use crate::ports::{
    BlobStore, Clock, CuratedWriter, IdSource, ReportWriter, SalesDays, SalesRepo, Spooler,
};
pub use reports::CsvReports;
pub use scheduled::{ScheduledReports, SCHEDULE_LEASE};
pub use single::{SaleLine, MAX_IDEMPOTENCY_KEY_CHARS, MAX_SALE_LINES, SINGLE_SALES_PREFIX};

/// Tunables of sales ingestion and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SalesSettings {
    /// Where spool files (normalised rows, rejected rows, Parquet parts) are
    /// written while a file is ingested; `None` is the system's temporary folder.
    pub spool_dir: Option<PathBuf>,
    /// The largest sales file accepted, in bytes (2 GiB).
    pub max_file_bytes: u64,
    /// Row errors listed in an ingest report (all are counted, and all are in the
    /// rejected-rows file).
    pub report_errors: usize,
    /// The most lines in one sales report.
    pub report_max_lines: u32,
    /// Write each loaded file's curated copy (Parquet) under `sales/curated/`
    /// (needs a [`CuratedWriter`](crate::ports::CuratedWriter) in
    /// [`Ports::curated`](super::Ports::curated); ignored without one).
    pub curated: bool,
    /// When the previous day's reports are written by themselves
    /// ([`SalesService::run_scheduled_reports`]); `None` (the default): never.
    pub schedule: Option<crate::domain::ReportSchedule>,
    /// Named formats of files that arrive as objects, chosen by key prefix
    /// (`KCL_SALES_PROFILES`): [`SalesService::ingest_object`] reads a file with its
    /// profile's format unless [`IngestOptions::format`] names one.
    pub profiles: crate::domain::SalesProfiles,
    /// How reports write numbers and dates unless asked otherwise, scheduled
    /// reports included (`KCL_LOCALE`).
    pub locale: crate::domain::Locale,
}

impl Default for SalesSettings {
    fn default() -> Self {
        Self {
            spool_dir: None,
            max_file_bytes: 2 << 30,
            report_errors: 20,
            report_max_lines: 100_000,
            curated: true,
            schedule: None,
            profiles: crate::domain::SalesProfiles::default(),
            locale: crate::domain::Locale::default(),
        }
    }
}

/// What happened to an ingested file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IngestStatus {
    /// Valid rows were loaded.
    Loaded,
    /// The same content was loaded before: nothing changed.
    Duplicate,
    /// Nothing was loaded: the file is unusable, has no valid row, or has rejected
    /// rows under the strict policy.
    Rejected,
}

/// A whole-file problem (see `docs/sales.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileProblem {
    /// Stable code: `missing-column`, `unbalanced-quote`, `no-valid-rows`...
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// The outcome of ingesting one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    /// `loaded`, `duplicate` or `rejected`.
    pub status: IngestStatus,
    /// The id of this load (`None` when nothing was loaded).
    pub file_id: Option<Uuid>,
    /// The file's name (object key or upload name).
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The policy applied.
    pub policy: IngestPolicy,
    /// Data rows read.
    pub rows_total: u64,
    /// Rows loaded (0 unless `loaded`).
    pub rows_loaded: u64,
    /// Rows rejected by the row rules.
    pub rows_rejected: u64,
    /// Records whose fields were all empty, skipped.
    pub blank_records: u64,
    /// The first row errors.
    pub errors: Vec<RowError>,
    /// Why the whole file was refused, if it was.
    pub file_error: Option<FileProblem>,
    /// The loaded file with the same content, when `duplicate`.
    pub duplicate_of: Option<Uuid>,
    /// The earlier version of this name that this load replaced (a correction).
    pub replaced: Option<Uuid>,
    /// Where the rejected rows and their reasons were written.
    pub rejected_key: Option<String>,
    /// The Parquet copies written.
    pub curated_keys: Vec<String>,
    /// Stores and days whose totals changed.
    pub days_updated: usize,
    /// Follow-up steps that failed after the rows were committed (daily totals,
    /// Parquet, rejected rows); ingesting the same file again repeats them.
    pub warnings: Vec<String>,
    /// The profile whose format read the file (`KCL_SALES_PROFILES`), if one did.
    pub profile: Option<String>,
    /// The order slashed dates were read in (`None` when none was read under a
    /// mapping without an order).
    pub date_order: Option<crate::domain::DateOrder>,
    /// Header cells that name no column of the format (or of the mapping), ignored.
    pub ignored_columns: Vec<String>,
    /// Batches of single sales ([`SalesService::record_sales`]) of the file's
    /// store-days that this ingest replaced.
    pub single_sales_replaced: u64,
}

/// How to ingest a file.
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Strict or lenient (the default).
    pub policy: IngestPolicy,
    /// Called with the bytes read so far, about every 256 KiB (a progress bar).
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    /// How to read the file (column mapping, date order, tax rate); `None`: KCL's
    /// own format, or for an object its profile's ([`SalesSettings::profiles`]).
    pub format: Option<crate::domain::SalesFormat>,
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("policy", &self.policy)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Where a report was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportWritten {
    /// Its key in the reports store.
    pub key: String,
    /// A URL to download it from directly (presigned), when the store has them.
    pub url: Option<String>,
    /// Lines in the report.
    pub lines: usize,
    /// True when the period had more lines than a report holds.
    pub truncated: bool,
    /// `csv` or `pdf`.
    pub format: &'static str,
}

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// CSV, formula-safe.
    Csv,
    /// PDF (needs a [`ReportWriter`](crate::ports::ReportWriter) in
    /// [`Ports::pdf_reports`](super::Ports::pdf_reports): the `kcl` facade's `pdf`
    /// feature).
    Pdf,
}

/// Sales ingestion, stock, totals and reports.
pub struct SalesService {
    repo: Arc<dyn SalesRepo>,
    days: Arc<dyn SalesDays>,
    blobs: Arc<dyn BlobStore>,
    reports: Arc<dyn BlobStore>,
    journal: Journal,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    curated: Option<Arc<dyn CuratedWriter>>,
    spools: Arc<dyn Spooler>,
    csv: Arc<dyn ReportWriter>,
    pdf: Option<Arc<dyn ReportWriter>>,
    runs: Arc<dyn crate::ports::ReportRuns>,
    settings: SalesSettings,
}

impl SalesService {
    /// Builds the service from the ports: reports go to `reports` (a separate
    /// bucket on AWS), or to `blobs` when that is `None`; curated copies are written
    /// with `curated` and PDF reports with `pdf_reports`, when there are.
    pub fn new(p: &super::Ports, settings: SalesSettings) -> Self {
        Self {
            repo: p.sales.clone(),
            days: p.sales_days.clone(),
            blobs: p.blobs.clone(),
            reports: p.reports.clone().unwrap_or_else(|| p.blobs.clone()),
            journal: Journal::new(p),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
            curated: p.curated.clone(),
            spools: p.spools.clone(),
            csv: Arc::new(CsvReports),
            pdf: p.pdf_reports.clone(),
            runs: p.report_runs.clone(),
            settings,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &SalesSettings {
        &self.settings
    }

    /// The folder for spool files.
    pub fn spool_dir(&self) -> PathBuf {
        self.settings
            .spool_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
    }

    /// Recent time for callers that need "today".
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The file part of the keys derived from a name (see [`SalesKey`](crate::domain::SalesKey)).
pub fn file_stem(name: &str) -> String {
    crate::domain::SalesKey::of(name).stem().to_owned()
}

fn io_error(e: io::Error) -> ServiceError {
    match e.kind() {
        // A full spool folder: retrying once space is freed works.
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            ServiceError::Unavailable(Box::new(e))
        }
        _ => ServiceError::Internal(Box::new(e)),
    }
}

fn check_name(name: &str) -> Result<(), ServiceError> {
    let bad = |m: &str| {
        Err(ServiceError::Invalid(ValidationError::field(
            "name", "bad-name", m,
        )))
    };
    if name.trim().is_empty() {
        return bad("a file name is required");
    }
    if name.len() > 512 {
        return bad("must be at most 512 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    Ok(())
}

/// A store id or SKU as the file format defines them (`docs/sales.md`).
fn check_id(field: &'static str, v: &str) -> Result<(), ServiceError> {
    if crate::domain::is_identifier(v, MAX_ID_CHARS) {
        Ok(())
    } else {
        Err(ValidationError::field(
            field,
            "bad-format",
            "must be 1-32 characters of A-Z a-z 0-9 _ - .",
        )
        .into())
    }
}

/// Parses a quantity for the stock API: a decimal with at most 3 decimals, `.` or `,`.
pub fn parse_quantity(s: &str) -> Result<Quantity, ServiceError> {
    let bad = || {
        ServiceError::Invalid(ValidationError::field(
            "quantity",
            "bad-number",
            "must be a number >= 0 with at most 3 decimals, such as 12 or 1.5",
        ))
    };
    let t = s.trim().replace(',', ".");
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 3
        || int.len() > 10
    {
        return Err(bad());
    }
    let i: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let f: i64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    Ok(Quantity::from_thousandths(i * 1000 + f))
}

#[cfg(test)]
mod tests;
