//! Sales files: validate, load, keep stock and daily totals, export Parquet, and
//! answer queries and reports.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::journal::{Journal, Touched};
use super::ServiceError;
use crate::domain::{
    neutralise_cell, AuditAction, AuditEvent, DayTotals, EntityKind, EntityRef, IngestPolicy,
    LoadOutcome, Quantity, ReportLine, ReportMeta, RowError, RowSpool, SalesFile, SalesReader,
    StockChange, StockLevel, StoreDay, SummaryQuery, SummaryRow, ValidateOptions, ValidationError,
    MAX_ID_CHARS,
};
use crate::ports::{
    AuditLog, BlobKey, BlobStore, BlobStoreError, Clock, IdSource, SalesDays, SalesRepo,
};

/// Tunables of sales ingestion and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Write each loaded file as Parquet under `sales/curated/` (needs the
    /// `parquet` feature; ignored without it).
    pub curated: bool,
}

impl Default for SalesSettings {
    fn default() -> Self {
        Self {
            spool_dir: None,
            max_file_bytes: 2 << 30,
            report_errors: 20,
            report_max_lines: 100_000,
            curated: true,
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
}

/// How to ingest a file.
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Strict or lenient (the default).
    pub policy: IngestPolicy,
    /// Called with the bytes read so far, about every 256 KiB (a progress bar).
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("policy", &self.policy)
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
    /// PDF (the `pdf` feature).
    Pdf,
}

/// Sales ingestion, stock, totals and reports.
pub struct SalesService {
    repo: Arc<dyn SalesRepo>,
    days: Arc<dyn SalesDays>,
    blobs: Arc<dyn BlobStore>,
    reports: Arc<dyn BlobStore>,
    audit: Arc<dyn AuditLog>,
    journal: Journal,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    settings: SalesSettings,
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

/// The last segment of a name without `.csv`, with anything but
/// `A-Z a-z 0-9 . _ -` replaced by `_`, at most 100 characters: the file part of
/// the keys derived from a name.
pub fn file_stem(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let base = last
        .strip_suffix(".csv")
        .or_else(|| last.strip_suffix(".CSV"))
        .unwrap_or(last);
    let mut s: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = "sales".into();
    }
    s
}

/// The Parquet key of a store's day of a file.
pub fn curated_key(day: &StoreDay, name: &str) -> String {
    format!(
        "sales/curated/store={}/date={}/{}.parquet",
        day.store_id,
        day.date.format("%Y-%m-%d"),
        file_stem(name)
    )
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

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    read: u64,
    reported: u64,
    progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.read += n as u64;
        if let Some(p) = &self.progress {
            if self.read - self.reported >= 256 * 1024 || n == 0 {
                self.reported = self.read;
                p(self.read);
            }
        }
        Ok(n)
    }
}

/// What reading a file produced.
struct Scan {
    sha256: String,
    summary: Option<crate::domain::SalesValidation>,
    file_error: Option<FileProblem>,
    spool: Option<RowSpool>,
    rejected: Option<PathBuf>,
    days: BTreeSet<StoreDay>,
    days_complete: bool,
}

const MAX_TRACKED_DAYS: usize = 100_000;

/// Writes valid rows to the spool on a thread of its own, so that normalising and
/// writing them overlaps with parsing and validating the next ones.
struct SpoolThread {
    tx: Option<std::sync::mpsc::SyncSender<Vec<crate::domain::SalesRow>>>,
    batch: Vec<crate::domain::SalesRow>,
    handle: Option<std::thread::JoinHandle<io::Result<RowSpool>>>,
}

const SPOOL_BATCH: usize = 1024;

impl SpoolThread {
    fn start(spool: RowSpool) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<crate::domain::SalesRow>>(4);
        let handle = std::thread::spawn(move || {
            let mut spool = spool;
            for batch in rx {
                for row in &batch {
                    spool.push(row)?;
                }
            }
            spool.finish()
        });
        Self {
            tx: Some(tx),
            batch: Vec::with_capacity(SPOOL_BATCH),
            handle: Some(handle),
        }
    }

    fn push(&mut self, row: crate::domain::SalesRow) -> io::Result<()> {
        self.batch.push(row);
        if self.batch.len() >= SPOOL_BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(SPOOL_BATCH));
            let sent = self.tx.as_ref().map(|tx| tx.send(full).is_ok());
            if sent != Some(true) {
                // The writer stopped: its error says why.
                self.tx = None;
                return match self.join() {
                    Err(e) => Err(e),
                    Ok(_) => Err(io::Error::other("the spool writer stopped")),
                };
            }
        }
        Ok(())
    }

    fn join(&mut self) -> io::Result<RowSpool> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the spool writer panicked"))),
            None => Err(io::Error::other("the spool writer already stopped")),
        }
    }

    /// Writes the last rows and returns the finished spool.
    fn finish(mut self) -> io::Result<RowSpool> {
        if !self.batch.is_empty() {
            let rest = std::mem::take(&mut self.batch);
            if let Some(tx) = &self.tx {
                let _ = tx.send(rest);
            }
        }
        self.join()
    }

    /// Stops writing; the spool file is removed.
    fn abandon(mut self) {
        self.batch.clear();
        let _ = self.join();
    }
}

impl Drop for SpoolThread {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.join();
        }
    }
}

fn scan(
    path: &Path,
    spool_dir: &Path,
    file_id: Uuid,
    today: NaiveDate,
    opts: &IngestOptions,
    max_bytes: u64,
) -> io::Result<Scan> {
    let file = File::open(path)?;
    let mut src = Hashing {
        inner: io::BufReader::with_capacity(1 << 16, file).take(max_bytes),
        hash: Sha256::new(),
        read: 0,
        reported: 0,
        progress: opts.progress.clone(),
    };
    let mut spool = Some(SpoolThread::start(RowSpool::create(spool_dir, file_id)?));
    let rejected_path = spool_dir.join(format!("kcl-sales-{file_id}-rejected.csv"));
    // Removes the rejected-rows file if reading fails midway; disarmed on success
    // (the caller removes it then).
    let rejected_guard = RemoveOnDrop(rejected_path.clone());
    let mut rejected: Option<csv::Writer<BufWriter<File>>> = None;
    let mut days = BTreeSet::new();
    let mut last_day: Option<StoreDay> = None;
    let mut days_complete = true;
    let mut file_error = None;
    let mut summary = None;
    match SalesReader::new(&mut src, ValidateOptions::new(today)) {
        Err(e) => {
            file_error = Some(FileProblem {
                code: e.code().into(),
                message: e.to_string(),
            })
        }
        Ok(mut reader) => {
            for item in &mut reader {
                match item {
                    Err(e) => {
                        file_error = Some(FileProblem {
                            code: e.code().into(),
                            message: e.to_string(),
                        });
                        break;
                    }
                    Ok(Ok(row)) => {
                        let same_day = last_day.as_ref().is_some_and(|d: &StoreDay| {
                            d.date == row.sale_date && d.store_id == row.store_id
                        });
                        if !same_day {
                            let day = StoreDay {
                                store_id: row.store_id.clone(),
                                date: row.sale_date,
                            };
                            if days.len() < MAX_TRACKED_DAYS {
                                days.insert(day.clone());
                            } else if !days.contains(&day) {
                                days_complete = false;
                            }
                            last_day = Some(day);
                        }
                        if opts.policy == IngestPolicy::Lenient || rejected.is_none() {
                            if let Some(s) = spool.as_mut() {
                                s.push(row)?;
                            }
                        }
                    }
                    Ok(Err(e)) => {
                        if rejected.is_none() {
                            let mut w = csv::Writer::from_writer(BufWriter::new(File::create(
                                &rejected_path,
                            )?));
                            w.write_record(["line", "column", "code", "message", "raw"])?;
                            rejected = Some(w);
                            if opts.policy == IngestPolicy::Strict {
                                if let Some(s) = spool.take() {
                                    s.abandon();
                                }
                            }
                        }
                        if let Some(w) = rejected.as_mut() {
                            w.write_record([
                                e.line.to_string().as_str(),
                                e.column.unwrap_or(""),
                                e.code,
                                &neutralise_cell(&e.message),
                                &neutralise_cell(&e.raw),
                            ])?;
                        }
                    }
                }
            }
            summary = Some(reader.into_summary());
        }
    }
    if file_error.is_none() && src.read >= max_bytes {
        // `take` stopped the reader: the file is larger than allowed.
        let mut probe = [0u8; 1];
        if src.inner.get_mut().read(&mut probe)? > 0 {
            file_error = Some(FileProblem {
                code: "too-large".into(),
                message: format!("the file is over the limit of {max_bytes} bytes"),
            });
        }
    }
    // Hash the whole file, even what the reader did not need.
    io::copy(&mut src, &mut io::sink())?;
    if let Some(p) = &opts.progress {
        p(src.read);
    }
    let rejected = match rejected {
        Some(w) => {
            let mut inner = w.into_inner().map_err(|e| e.into_error())?;
            inner.flush()?;
            Some(rejected_path)
        }
        None => None,
    };
    let spool = match spool {
        Some(s) => Some(s.finish()?),
        None => None,
    };
    rejected_guard.disarm();
    Ok(Scan {
        sha256: format!("{:x}", src.hash.finalize()),
        summary,
        file_error,
        spool,
        rejected,
        days,
        days_complete,
    })
}

impl SalesService {
    /// Builds the service from the ports: reports go to `reports` (a separate
    /// bucket on AWS), or to `blobs` when that is `None`.
    pub fn new(p: &super::Ports, settings: SalesSettings) -> Self {
        Self {
            repo: p.sales.clone(),
            days: p.sales_days.clone(),
            blobs: p.blobs.clone(),
            reports: p.reports.clone().unwrap_or_else(|| p.blobs.clone()),
            audit: p.audit.clone(),
            journal: super::journal::Journal::new(p),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
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

    /// Removes what a crash left in the spool folder: files and folders of KCL's own
    /// names (`kcl-sales-*`, `kcl-parquet-*`) last modified more than `older_than`
    /// ago (a load in progress, here or in another process sharing the folder,
    /// keeps writing its files). Returns how many were removed; what cannot be read
    /// or removed is skipped. The hosts call it at start with 6 hours.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::{Duration, SystemTime};
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut settings = kcl_core::services::Settings::default();
    /// settings.sales.spool_dir = Some(dir.path().to_path_buf());
    /// let backend = kcl_core::memory::MemoryBackend::new();
    /// let services = kcl_core::Services::with_settings(backend.ports(), &settings);
    /// let old = dir.path().join("kcl-sales-upload-1.csv");
    /// std::fs::write(&old, "a crash's leftover").unwrap();
    /// std::fs::File::options().write(true).open(&old).unwrap()
    ///     .set_modified(SystemTime::now() - Duration::from_secs(7 * 3600)).unwrap();
    /// std::fs::write(dir.path().join("kcl-sales-upload-2.csv"), "in progress").unwrap();
    /// std::fs::write(dir.path().join("someone-else.csv"), "not ours").unwrap();
    /// let removed = services.sales.clean_spool(Duration::from_secs(6 * 3600)).await;
    /// assert_eq!(removed, 1);
    /// assert!(!old.exists());
    /// assert!(dir.path().join("kcl-sales-upload-2.csv").exists());
    /// assert!(dir.path().join("someone-else.csv").exists());
    /// # }
    /// ```
    pub async fn clean_spool(&self, older_than: std::time::Duration) -> usize {
        let dir = self.spool_dir();
        tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return 0;
            };
            let now = std::time::SystemTime::now();
            let mut removed = 0;
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if !(name.starts_with("kcl-sales-") || name.starts_with("kcl-parquet-")) {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > older_than);
                if !old {
                    continue;
                }
                let path = entry.path();
                let done = if meta.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match done {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "spool leftover not removed"),
                }
            }
            removed
        })
        .await
        .unwrap_or(0)
    }

    /// Ingests a sales file stored in the blob store (an object created under
    /// `sales/incoming/`): copies it to a spool file, then [`ingest_path`](Self::ingest_path)
    /// under its key.
    pub async fn ingest_blob(
        &self,
        key: &BlobKey,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        let meta = self.blobs.head(key).await.map_err(ServiceError::from)?;
        if meta.size > self.settings.max_file_bytes {
            return Err(ServiceError::TooLarge(format!(
                "{} is {} bytes, over the limit of {}",
                key.as_str(),
                meta.size,
                self.settings.max_file_bytes
            )));
        }
        let tmp = self
            .spool_dir()
            .join(format!("kcl-sales-{}-incoming.csv", Uuid::new_v4()));
        let _cleanup = RemoveOnDrop(tmp.clone());
        self.blobs
            .get_to_file(key, &tmp)
            .await
            .map_err(ServiceError::from)?;
        self.ingest_path(key.as_str(), &tmp, opts).await
    }

    /// Ingests a sales file from a local path, recorded under `name` (its object key
    /// or upload name): validates it in one streaming pass, loads the valid rows in
    /// one transaction (or none, see [`IngestPolicy`]), adjusts stock, brings the
    /// daily totals up to date, writes the Parquet copy and the rejected rows, and
    /// reports.
    ///
    /// The same content again changes nothing (`duplicate`), but repeats the
    /// follow-up steps, so ingesting again repairs totals or Parquet copies a crash
    /// left behind. A new content under a known name replaces the earlier version.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// use kcl_core::memory::MemoryBackend;
    /// use kcl_core::services::{IngestOptions, IngestStatus};
    ///
    /// let services = MemoryBackend::new().services();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("s1.csv");
    /// std::fs::write(&path, "loja;data;codigo;quantidade;preco_unitario\n\
    ///                        S1;23/11/2026;789;2;1,50\nS1;31/02/2026;789;1;1,50\n").unwrap();
    /// let report = services.sales.ingest_path("s1.csv", &path, IngestOptions::default()).await.unwrap();
    /// assert_eq!(report.status, IngestStatus::Loaded);
    /// assert_eq!((report.rows_loaded, report.rows_rejected), (1, 1));
    /// assert_eq!(report.errors[0].code, "bad-date");
    /// let stock = services.sales.stock("789").await.unwrap();
    /// assert_eq!(stock.quantity.to_string(), "-2.000");
    ///
    /// let again = services.sales.ingest_path("s1.csv", &path, IngestOptions::default()).await.unwrap();
    /// assert_eq!(again.status, IngestStatus::Duplicate);
    /// assert_eq!(again.duplicate_of, report.file_id);
    /// # });
    /// ```
    pub async fn ingest_path(
        &self,
        name: &str,
        path: &Path,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        check_name(name)?;
        let file_id = self.ids.new_id();
        let now = self.clock.now();
        let today = now.date_naive();
        let spool_dir = self.spool_dir();
        let max = self.settings.max_file_bytes;
        let policy = opts.policy;
        let path = path.to_path_buf();
        let started = std::time::Instant::now();
        let scan = tokio::task::spawn_blocking(move || {
            scan(&path, &spool_dir, file_id, today, &opts, max)
        })
        .await
        .map_err(|e| ServiceError::Internal(Box::new(e)))?
        .map_err(io_error)?;
        let mut scan = scan;
        let spool = scan.spool.take().map(Arc::new);
        let _rejected_cleanup = scan.rejected.clone().map(RemoveOnDrop);
        let summary = scan.summary.as_ref();
        let mut report = IngestReport {
            status: IngestStatus::Rejected,
            file_id: None,
            name: name.to_owned(),
            sha256: scan.sha256.clone(),
            policy,
            rows_total: summary.map_or(0, |s| s.rows_total),
            rows_loaded: 0,
            rows_rejected: summary.map_or(0, |s| s.rows_rejected),
            blank_records: summary.map_or(0, |s| s.blank_records),
            errors: summary
                .map(|s| {
                    s.errors
                        .iter()
                        .take(self.settings.report_errors)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            file_error: scan.file_error.clone(),
            duplicate_of: None,
            replaced: None,
            rejected_key: None,
            curated_keys: Vec::new(),
            days_updated: 0,
            warnings: Vec::new(),
        };
        if let Some(rejected) = &scan.rejected {
            if report.file_error.is_none() {
                let key = format!("sales/rejected/{}.{file_id}.csv", file_stem(name));
                match self.put_file(&key, rejected, "text/csv").await {
                    Ok(()) => report.rejected_key = Some(key),
                    Err(e) => report
                        .warnings
                        .push(format!("rejected rows not written: {e}")),
                }
            }
        }
        if report.file_error.is_some() {
            return Ok(report);
        }
        let valid = summary.map_or(0, |s| s.rows_valid);
        if policy == IngestPolicy::Strict && report.rows_rejected > 0 {
            metrics::counter!("kcl_ingest_rows_total", "outcome" => "rejected")
                .increment(report.rows_rejected);
            report.file_error = Some(FileProblem {
                code: "rejected-rows".into(),
                message: format!(
                    "{} of {} rows were rejected and the policy is strict: nothing was loaded",
                    report.rows_rejected, report.rows_total
                ),
            });
            return Ok(report);
        }
        let Some(spool) = spool.as_ref().filter(|_| valid > 0) else {
            report.file_error = Some(FileProblem {
                code: "no-valid-rows".into(),
                message: "the file has no valid row: nothing was loaded".into(),
            });
            return Ok(report);
        };
        let file = SalesFile {
            id: file_id,
            name: name.to_owned(),
            sha256: scan.sha256.clone(),
            rows: spool.rows(),
            loaded_at: now,
        };
        let scanned = started.elapsed();
        let event = self.journal.event(
            AuditAction::Ingested,
            EntityRef {
                kind: EntityKind::SalesFile,
                id: name.to_owned(),
            },
            &serde_json::json!({
                "file_id": file_id,
                "sha256": report.sha256,
                "rows_loaded": file.rows,
                "rows_rejected": report.rows_rejected,
            }),
        );
        let outcome = self
            .repo
            .load(&file, spool, &event)
            .await
            .map_err(ServiceError::from)?;
        let loaded = started.elapsed();
        crate::crash_point!("sales.publish.committed");
        match outcome {
            LoadOutcome::Duplicate(of) => {
                report.status = IngestStatus::Duplicate;
                report.duplicate_of = Some(of.id);
                // Repeat the follow-up steps: they are idempotent, and this is how a
                // crash between the commit and them is repaired.
                if scan.days_complete {
                    let days: Vec<StoreDay> = scan.days.iter().cloned().collect();
                    self.refresh_days(&days, &mut report).await;
                    if self.curated_missing(&of.name, &days).await {
                        self.write_curated(&of.name, spool, &[], &mut report).await;
                    }
                }
            }
            LoadOutcome::Loaded {
                rows,
                replaced,
                days,
            } => {
                report.status = IngestStatus::Loaded;
                report.file_id = Some(file_id);
                self.journal.committed(Touched::Other).await;
                report.rows_loaded = rows;
                metrics::counter!("kcl_ingest_rows_total", "outcome" => "loaded").increment(rows);
                metrics::counter!("kcl_ingest_rows_total", "outcome" => "rejected")
                    .increment(report.rows_rejected);
                report.replaced = replaced.as_ref().map(|r| r.id);
                self.refresh_days(&days, &mut report).await;
                let gone: Vec<StoreDay> = days
                    .iter()
                    .filter(|d| !scan.days.contains(d))
                    .cloned()
                    .collect();
                let totals = started.elapsed();
                self.write_curated(name, spool, &gone, &mut report).await;
                tracing::info!(
                    name,
                    rows,
                    rejected = report.rows_rejected,
                    days = days.len(),
                    read_ms = scanned.as_millis() as u64,
                    load_ms = (loaded - scanned).as_millis() as u64,
                    totals_ms = (totals - loaded).as_millis() as u64,
                    parquet_ms = (started.elapsed() - totals).as_millis() as u64,
                    "sales file loaded"
                );
            }
        }
        Ok(report)
    }

    async fn put_file(&self, key: &str, path: &Path, ct: &str) -> Result<(), ServiceError> {
        let key = BlobKey::parse(key)?;
        self.blobs
            .put_file(&key, path, ct)
            .await
            .map(|_| ())
            .map_err(ServiceError::from)
    }

    /// Brings the stored daily totals of `days` to what the committed lines say.
    ///
    /// Two loads of one day finishing together each compute the totals, then store
    /// them; the one that computed first may store last. So after storing, the
    /// totals are computed again: if a load published meanwhile they differ, and are
    /// stored again. The last store of a day is then always by a load that saw no
    /// publication between its computing and its storing: the totals of the
    /// committed state.
    async fn refresh_days(&self, days: &[StoreDay], report: &mut IngestReport) {
        const ROUNDS: usize = 8;
        for chunk in days.chunks(500) {
            let mut totals = match self.repo.day_totals(chunk).await {
                Ok(t) => t,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("daily totals not updated: {e}"));
                    return;
                }
            };
            for round in 1..=ROUNDS {
                if let Err(e) = self.days.put(&totals).await {
                    report
                        .warnings
                        .push(format!("daily totals not updated: {e}"));
                    return;
                }
                let now = match self.repo.day_totals(chunk).await {
                    Ok(t) => t,
                    Err(e) => {
                        report
                            .warnings
                            .push(format!("daily totals not checked: {e}"));
                        return;
                    }
                };
                if now == totals {
                    break;
                }
                if round == ROUNDS {
                    report.warnings.push(
                        "daily totals kept changing under concurrent loads; the last load \
                         of these days brings them up to date"
                            .into(),
                    );
                    return;
                }
                totals = now;
            }
            report.days_updated += chunk.len();
        }
    }

    async fn curated_missing(&self, name: &str, days: &[StoreDay]) -> bool {
        if !self.curated_enabled() {
            return false;
        }
        for d in days {
            let Ok(key) = BlobKey::parse(&curated_key(d, name)) else {
                return false;
            };
            if let Err(BlobStoreError::NotFound(_)) = self.blobs.head(&key).await {
                return true;
            }
        }
        false
    }

    fn curated_enabled(&self) -> bool {
        self.settings.curated && cfg!(feature = "parquet")
    }

    /// Writes the Parquet parts of the spool and deletes those of `gone` days (a
    /// replaced version's days the new version does not have).
    async fn write_curated(
        &self,
        name: &str,
        spool: &Arc<RowSpool>,
        gone: &[StoreDay],
        report: &mut IngestReport,
    ) {
        if !self.curated_enabled() {
            return;
        }
        for d in gone {
            if let Ok(key) = BlobKey::parse(&curated_key(d, name)) {
                if let Err(e) = self.blobs.delete(&key).await {
                    report.warnings.push(format!(
                        "old Parquet copy {} not deleted: {e}",
                        key.as_str()
                    ));
                }
            }
        }
        #[cfg(feature = "parquet")]
        {
            let dir = self
                .spool_dir()
                .join(format!("kcl-parquet-{}", Uuid::new_v4()));
            let _cleanup = RemoveDirOnDrop(dir.clone());
            let parts = {
                let spool = spool.clone();
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    crate::domain::write_parquet(&spool, &dir)
                })
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)))
            };
            let parts = match parts {
                Ok(p) => p,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("Parquet copy not written: {e}"));
                    return;
                }
            };
            for part in parts {
                let key = curated_key(&part.day, name);
                match self
                    .put_file(&key, &part.path, "application/vnd.apache.parquet")
                    .await
                {
                    Ok(()) => report.curated_keys.push(key),
                    Err(e) => report
                        .warnings
                        .push(format!("Parquet copy {key} not written: {e}")),
                }
            }
        }
        #[cfg(not(feature = "parquet"))]
        let _ = spool;
    }

    /// The current version of a file name.
    pub async fn file(&self, name: &str) -> Result<SalesFile, ServiceError> {
        self.repo
            .current_file(name)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "sales file",
                id: name.to_owned(),
            })
    }

    /// Sales grouped by day, store or SKU.
    pub async fn summary(&self, query: &SummaryQuery) -> Result<Vec<SummaryRow>, ServiceError> {
        if let (Some(f), Some(t)) = (query.from, query.to) {
            if f > t {
                return Err(
                    ValidationError::field("from", "bad-range", "must not be after `to`").into(),
                );
            }
        }
        for (field, v) in [("store", &query.store), ("sku", &query.sku)] {
            if let Some(v) = v {
                check_id(field, v)?;
            }
        }
        self.repo.summary(query).await.map_err(ServiceError::from)
    }

    /// A store's daily totals (kept in the daily totals store).
    pub async fn daily(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, ServiceError> {
        check_id("store", store)?;
        if from > to {
            return Err(
                ValidationError::field("from", "bad-range", "must not be after `to`").into(),
            );
        }
        if (to - from).num_days() > 3660 {
            return Err(
                ValidationError::field("to", "bad-range", "at most ten years at once").into(),
            );
        }
        self.days
            .range(store, from, to)
            .await
            .map_err(ServiceError::from)
    }

    /// A SKU's stock.
    pub async fn stock(&self, sku: &str) -> Result<StockLevel, ServiceError> {
        check_id("sku", sku)?;
        self.repo
            .stock(sku)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "stock",
                id: sku.to_owned(),
            })
    }

    /// Sets or adds to a SKU's stock.
    pub async fn change_stock(
        &self,
        sku: &str,
        change: StockChange,
    ) -> Result<StockLevel, ServiceError> {
        check_id("sku", sku)?;
        let q = match change {
            StockChange::Set(q) | StockChange::Receive(q) => q.thousandths(),
        };
        if !(0..=1_000_000_000_000).contains(&q) {
            return Err(ValidationError::field(
                "quantity",
                "out-of-range",
                "must be between 0 and 1,000,000,000",
            )
            .into());
        }
        let (what, qty) = match change {
            StockChange::Set(q) => ("set", q),
            StockChange::Receive(q) => ("received", q),
        };
        // The store adds `on_hand`, the level the change left.
        let event = self.journal.event(
            AuditAction::Updated,
            EntityRef {
                kind: EntityKind::Stock,
                id: sku.to_owned(),
            },
            &serde_json::json!({ "change": what, "quantity": qty.to_string() }),
        );
        let level = self
            .repo
            .change_stock(sku, change, self.clock.now(), &event)
            .await
            .map_err(ServiceError::from)?;
        self.journal.committed(Touched::Other).await;
        Ok(level)
    }

    /// Writes a sales report of a period to the reports store, under
    /// `reports/sales-{from}-{to}[-{store}]-{id}.{csv|pdf}`.
    pub async fn write_report(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        format: ReportFormat,
    ) -> Result<ReportWritten, ServiceError> {
        if from > to {
            return Err(
                ValidationError::field("from", "bad-range", "must not be after `to`").into(),
            );
        }
        if let Some(s) = store {
            check_id("store", s)?;
        }
        if format == ReportFormat::Pdf && !cfg!(feature = "pdf") {
            return Err(ServiceError::NotEnabled(
                "PDF reports need the `pdf` feature (cargo ... --features pdf); CSV works".into(),
            ));
        }
        let max = self.settings.report_max_lines;
        let mut lines = self
            .repo
            .report_lines(from, to, store, max.saturating_add(1))
            .await
            .map_err(ServiceError::from)?;
        let truncated = lines.len() > max as usize;
        lines.truncate(max as usize);
        let meta = ReportMeta {
            from,
            to,
            store: store.map(str::to_owned),
            generated_at: self.clock.now(),
            truncated,
        };
        let (bytes, ext, ct) = render(&meta, &lines, format)?;
        let key = format!(
            "reports/sales-{from}-{to}{}-{}.{ext}",
            store.map(|s| format!("-{s}")).unwrap_or_default(),
            self.ids.new_id().simple()
        );
        let bkey = BlobKey::parse(&key)?;
        self.reports
            .put(&bkey, bytes, ct)
            .await
            .map_err(ServiceError::from)?;
        let url = self
            .reports
            .presigned_get(&bkey, std::time::Duration::from_secs(3600))
            .await
            .map_err(ServiceError::from)?;
        Ok(ReportWritten {
            key,
            url,
            lines: lines.len(),
            truncated,
            format: ext,
        })
    }

    /// Reads a report back (to serve it where the store has no presigned URLs).
    pub async fn report(&self, key: &str) -> Result<crate::ports::Blob, ServiceError> {
        if !key.starts_with("reports/") {
            return Err(ServiceError::NotFound {
                entity: "report",
                id: key.to_owned(),
            });
        }
        let k = BlobKey::parse(key)?;
        self.reports.get(&k).await.map_err(ServiceError::from)
    }

    /// A file name's audit history (its loads), oldest first.
    pub async fn history(&self, name: &str, limit: u32) -> Result<Vec<AuditEvent>, ServiceError> {
        if !(1..=1000).contains(&limit) {
            return Err(ValidationError::field(
                "limit",
                "out-of-range",
                "must be between 1 and 1000",
            )
            .into());
        }
        let entity = EntityRef {
            kind: EntityKind::SalesFile,
            id: name.to_owned(),
        };
        Ok(self.audit.history(&entity, limit).await?)
    }

    /// Recent time for callers that need "today".
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

fn render(
    meta: &ReportMeta,
    lines: &[ReportLine],
    format: ReportFormat,
) -> Result<(Bytes, &'static str, &'static str), ServiceError> {
    match format {
        ReportFormat::Csv => {
            let mut out = Vec::new();
            crate::domain::write_csv_report(meta, lines, &mut out).map_err(io_error)?;
            Ok((Bytes::from(out), "csv", "text/csv; charset=utf-8"))
        }
        #[cfg(feature = "pdf")]
        ReportFormat::Pdf => Ok((
            Bytes::from(crate::domain::write_pdf_report(meta, lines)),
            "pdf",
            "application/pdf",
        )),
        #[cfg(not(feature = "pdf"))]
        ReportFormat::Pdf => Err(ServiceError::NotEnabled(
            "PDF reports need the `pdf` feature".into(),
        )),
    }
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

struct RemoveOnDrop(PathBuf);

impl RemoveOnDrop {
    /// Keeps the file.
    fn disarm(mut self) {
        self.0 = PathBuf::new();
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(feature = "parquet")]
struct RemoveDirOnDrop(PathBuf);

#[cfg(feature = "parquet")]
impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
