//! Ingesting a file: the streaming pass (in [`spool`](super::spool)), the load in
//! one transaction, and the follow-up steps (daily totals, curated copies, rejected
//! rows), repeated when the same file comes again.

use std::path::Path;
use std::sync::Arc;

use uuid::Uuid;

use super::spool::{scan, RemoveOnDrop, Scan};
use super::{
    check_name, io_error, FileProblem, IngestOptions, IngestReport, IngestStatus, SalesService,
};
use crate::domain::{
    AuditAction, EntityKind, EntityRef, IngestPolicy, LoadOutcome, SalesFile, SalesKey, StoreDay,
};
use crate::ports::{BlobKey, LiveRows, LiveVerdict, RowSpool};
use crate::services::journal::Touched;
use crate::services::ServiceError;

/// Spooled batches (of 1,024 rows) waiting for a live load.
const LIVE_BATCHES: usize = 8;
/// Store-days whose totals are computed, stored and checked together.
const DAYS_PER_REFRESH: usize = 500;

impl SalesService {
    /// Ingests a sales file stored in the blob store (an object created under
    /// `sales/incoming/`): copies it to a spool file, then [`ingest_path`](Self::ingest_path)
    /// under its key.
    pub async fn ingest_blob(
        &self,
        key: &BlobKey,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        self.ingest_object(self.blobs.as_ref(), key, key.as_str(), opts)
            .await
    }

    /// Ingests the sales file `key` of `store` (a bucket of its own where files
    /// arrive, `KCL_SALES_INCOMING`), recorded under `name` (the object's key as
    /// the bucket names it): copies it to a spool file, then
    /// [`ingest_path`](Self::ingest_path). A name loaded before is a correction, as
    /// always.
    pub async fn ingest_object(
        &self,
        store: &dyn crate::ports::BlobStore,
        key: &BlobKey,
        name: &str,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        reserved(name)?;
        self.load_object(store, key, name, opts).await
    }

    /// [`ingest_object`](Self::ingest_object) under any name (single sales' too).
    pub(super) async fn load_object(
        &self,
        store: &dyn crate::ports::BlobStore,
        key: &BlobKey,
        name: &str,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        let meta = store.head(key).await.map_err(ServiceError::from)?;
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
        store
            .get_to_file(key, &tmp)
            .await
            .map_err(ServiceError::from)?;
        let mut opts = opts;
        let mut profile = None;
        if opts.format.is_none() {
            if let Some(p) = self.settings.profiles.for_key(name) {
                opts.format = Some(p.format.clone());
                profile = Some(p.name.clone());
            }
        }
        let mut report = self.ingest_file(name, &tmp, opts).await?;
        report.profile = profile;
        Ok(report)
    }

    /// Ingests a sales file from a local path, recorded under `name` (its object key
    /// or upload name): validates it in one streaming pass, loads the valid rows in
    /// one transaction (or none, see [`IngestPolicy`]), adjusts stock, brings the
    /// daily totals up to date, writes the curated copies and the rejected rows, and
    /// reports.
    ///
    /// The same content again changes nothing (`duplicate`), but repeats the
    /// follow-up steps, so ingesting again repairs totals or curated copies a crash
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
        reserved(name)?;
        self.ingest_file(name, path, opts).await
    }

    /// [`ingest_path`](Self::ingest_path) under any name (single sales' too).
    async fn ingest_file(
        &self,
        name: &str,
        path: &Path,
        opts: IngestOptions,
    ) -> Result<IngestReport, ServiceError> {
        check_name(name)?;
        // Single sales ([`record_sales`](Self::record_sales)) are replaced by a file
        // of their store-day, and have no curated copies: the file has.
        let single = name.starts_with(super::SINGLE_SALES_PREFIX);
        let file_id = self.ids.new_id();
        let now = self.clock.now();
        let policy = opts.policy;
        let started = std::time::Instant::now();
        // A store that loads while the file is read gets the rows as they are
        // validated (its load overlaps the reading); the file is hashed first, for its
        // duplicate check. A file over the limit takes the other way, which reports it.
        let sha256 = if self.repo.loads_live() {
            let (path, max) = (path.to_path_buf(), self.settings.max_file_bytes);
            tokio::task::spawn_blocking(move || super::spool::hash_file(&path, max))
                .await
                .map_err(|e| ServiceError::Internal(Box::new(e)))?
                .map_err(io_error)?
        } else {
            None
        };
        let (scan, loaded) = match sha256 {
            Some(sha256) => {
                self.scan_and_load_live(name, path, file_id, now, sha256, opts)
                    .await?
            }
            None => (self.scan(path, file_id, now, opts, None).await?, None),
        };
        let mut scan = scan;
        let scanned = scan.elapsed;
        let spool = scan.spool.take();
        let _rejected_cleanup = scan.rejected.clone().map(RemoveOnDrop);
        let mut report = self.report_of(name, policy, &scan);
        if let Some(rejected) = &scan.rejected {
            if report.file_error.is_none() {
                let key = SalesKey::of(name).rejected(file_id);
                match self.put_file(&key, rejected, "text/csv").await {
                    Ok(()) => report.rejected_key = Some(key.as_str().to_owned()),
                    Err(e) => report
                        .warnings
                        .push(format!("rejected rows not written: {e}")),
                }
            }
        }
        let spool = match self.refusal(&scan, policy, spool.as_ref()) {
            Err(problem) => {
                if problem.code == "rejected-rows" {
                    metrics::counter!("kcl_ingest_rows_total", "outcome" => "rejected")
                        .increment(report.rows_rejected);
                }
                // A duplicate changed nothing; a load cannot stand when refused (its
                // verdict was to abandon it).
                if matches!(loaded, Some(LoadOutcome::Loaded { .. })) {
                    return Err(ServiceError::Internal(
                        "a live load stood although the file was refused".into(),
                    ));
                }
                report.file_error = Some(problem);
                return Ok(report);
            }
            Ok(spool) => spool,
        };
        let outcome = match loaded {
            Some(outcome) => outcome,
            None if scan.live => {
                return Err(ServiceError::Internal(
                    "a live load ended without an outcome".into(),
                ))
            }
            None => {
                let file = self.file_of(name, file_id, &scan, spool.as_ref(), now);
                let event = self.ingested_event(&file, report.rows_rejected);
                self.repo
                    .load(&file, spool.as_ref(), &event)
                    .await
                    .map_err(ServiceError::from)?
            }
        };
        let loaded = started.elapsed();
        crate::crash_point!("sales.publish.committed");
        match outcome {
            LoadOutcome::Duplicate(of) => {
                report.status = IngestStatus::Duplicate;
                report.duplicate_of = Some(of.id);
                // Repeat the follow-up steps: they are idempotent, and this is how a
                // crash between the commit and them is repaired.
                if scan.days_complete {
                    let mut days: Vec<StoreDay> = scan.days.iter().cloned().collect();
                    if !single {
                        let replaced = self
                            .replace_single_sales(&days, of.loaded_at, &mut report)
                            .await;
                        days.extend(replaced);
                        days.sort();
                        days.dedup();
                    }
                    self.refresh_days(&days, &mut report).await;
                    if !single && self.curated_missing(&of.name, &days).await {
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
                self.journal.committed(Touched::Sales).await;
                report.rows_loaded = rows;
                metrics::counter!("kcl_ingest_rows_total", "outcome" => "loaded").increment(rows);
                metrics::counter!("kcl_ingest_rows_total", "outcome" => "rejected")
                    .increment(report.rows_rejected);
                report.replaced = replaced.as_ref().map(|r| r.id);
                let mut days = days;
                if !single && !scan.days_complete {
                    report.warnings.push(
                        "the file covers too many store-days to replace their single sales"
                            .to_owned(),
                    );
                } else if !single {
                    let mine: Vec<StoreDay> = scan.days.iter().cloned().collect();
                    days.extend(self.replace_single_sales(&mine, now, &mut report).await);
                    days.sort();
                    days.dedup();
                }
                self.refresh_days(&days, &mut report).await;
                let gone: Vec<StoreDay> = days
                    .iter()
                    .filter(|d| !scan.days.contains(d))
                    .cloned()
                    .collect();
                let totals = started.elapsed();
                if !single {
                    self.write_curated(name, spool, &gone, &mut report).await;
                }
                tracing::info!(
                    name,
                    rows,
                    rejected = report.rows_rejected,
                    days = days.len(),
                    live = scan.live,
                    read_ms = scanned.as_millis() as u64,
                    load_ms = loaded.saturating_sub(scanned).as_millis() as u64,
                    totals_ms = (totals - loaded).as_millis() as u64,
                    parquet_ms = (started.elapsed() - totals).as_millis() as u64,
                    "sales file loaded"
                );
            }
        }
        Ok(report)
    }

    /// The one streaming pass over the file, on a blocking thread; valid rows are
    /// also sent to `live`, if given.
    async fn scan(
        &self,
        path: &Path,
        file_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        opts: IngestOptions,
        live: Option<super::spool::LiveSender>,
    ) -> Result<Scan, ServiceError> {
        let today = now.date_naive();
        let spool_dir = self.spool_dir();
        // A live load takes the rows as they are read: they are kept only for the
        // curated copies, if there are any.
        let spooler: Arc<dyn crate::ports::Spooler> =
            if live.is_some() && self.curated_writer().is_none() {
                Arc::new(super::spool::CountingSpooler)
            } else {
                self.spools.clone()
            };
        let max = self.settings.max_file_bytes;
        let path = path.to_path_buf();
        let started = std::time::Instant::now();
        let mut scan = tokio::task::spawn_blocking(move || {
            scan(
                &path,
                spooler.as_ref(),
                &spool_dir,
                file_id,
                today,
                &opts,
                max,
                live,
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(Box::new(e)))?
        .map_err(io_error)?;
        scan.elapsed = started.elapsed();
        Ok(scan)
    }

    /// Reads the file while the store loads its valid rows
    /// ([`SalesRepo::load_live`](crate::ports::SalesRepo::load_live)): the scan
    /// and the load run together, and once the scan has ended the load is told
    /// whether it stands. Returns the scan and the load's outcome (`None`: the file
    /// was refused and nothing was loaded).
    async fn scan_and_load_live(
        &self,
        name: &str,
        path: &Path,
        file_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        sha256: String,
        opts: IngestOptions,
    ) -> Result<(Scan, Option<LoadOutcome>), ServiceError> {
        let policy = opts.policy;
        let start = SalesFile {
            id: file_id,
            name: name.to_owned(),
            sha256: sha256.clone(),
            rows: 0,
            loaded_at: now,
        };
        let (rows_tx, rows) = tokio::sync::mpsc::channel(LIVE_BATCHES);
        let (verdict_tx, verdict) = tokio::sync::oneshot::channel();
        let read = async {
            let scan = self.scan(path, file_id, now, opts, Some(rows_tx)).await;
            let verdict = match &scan {
                Ok(scan) if scan.sha256 == sha256 => {
                    match self.refusal(scan, policy, scan.spool.as_ref()) {
                        Ok(spool) => {
                            let file =
                                self.file_of(name, file_id, scan, spool.as_ref(), start.loaded_at);
                            let rejected = scan.summary.as_ref().map_or(0, |s| s.rows_rejected);
                            let event = self.ingested_event(&file, rejected);
                            LiveVerdict::Commit { file, event }
                        }
                        Err(_) => LiveVerdict::Abandon,
                    }
                }
                _ => LiveVerdict::Abandon,
            };
            let _ = verdict_tx.send(verdict);
            scan
        };
        let (loaded, scan) = tokio::join!(
            self.repo.load_live(&start, LiveRows { rows, verdict }),
            read
        );
        let mut scan = scan?;
        if scan.sha256 != sha256 {
            return Err(ServiceError::Conflict {
                code: "file-changed",
                message: format!("{name} changed while it was read: nothing was loaded"),
            });
        }
        scan.live = true;
        Ok((scan, loaded.map_err(ServiceError::from)?))
    }

    /// The report of a scan, before any load.
    fn report_of(&self, name: &str, policy: IngestPolicy, scan: &Scan) -> IngestReport {
        let summary = scan.summary.as_ref();
        IngestReport {
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
            profile: None,
            date_order: summary.and_then(|s| s.date_order),
            ignored_columns: summary
                .map(|s| s.ignored_columns.clone())
                .unwrap_or_default(),
            single_sales_replaced: 0,
        }
    }

    /// Whether a scanned file may be loaded: its spool, or why nothing is loaded (a
    /// file problem, rejected rows under the strict policy, no valid row).
    fn refusal<'s>(
        &self,
        scan: &Scan,
        policy: IngestPolicy,
        spool: Option<&'s Arc<dyn RowSpool>>,
    ) -> Result<&'s Arc<dyn RowSpool>, FileProblem> {
        if let Some(problem) = &scan.file_error {
            return Err(problem.clone());
        }
        let summary = scan.summary.as_ref();
        let rejected = summary.map_or(0, |s| s.rows_rejected);
        if policy == IngestPolicy::Strict && rejected > 0 {
            return Err(FileProblem {
                code: "rejected-rows".into(),
                message: format!(
                    "{} of {} rows were rejected and the policy is strict: nothing was loaded",
                    rejected,
                    summary.map_or(0, |s| s.rows_total)
                ),
            });
        }
        match spool.filter(|_| summary.map_or(0, |s| s.rows_valid) > 0) {
            Some(spool) => Ok(spool),
            None => Err(FileProblem {
                code: "no-valid-rows".into(),
                message: "the file has no valid row: nothing was loaded".into(),
            }),
        }
    }

    /// The record of a load of a scanned file.
    fn file_of(
        &self,
        name: &str,
        file_id: Uuid,
        scan: &Scan,
        spool: &dyn RowSpool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> SalesFile {
        SalesFile {
            id: file_id,
            name: name.to_owned(),
            sha256: scan.sha256.clone(),
            rows: spool.rows(),
            loaded_at: now,
        }
    }

    /// The `ingested` audit event of a load.
    pub(super) fn ingested_event(
        &self,
        file: &SalesFile,
        rows_rejected: u64,
    ) -> crate::domain::AuditEvent {
        self.journal.event(
            AuditAction::Ingested,
            EntityRef {
                kind: EntityKind::SalesFile,
                id: file.name.clone(),
            },
            &serde_json::json!({
                "file_id": file.id,
                "sha256": file.sha256,
                "rows_loaded": file.rows,
                "rows_rejected": rows_rejected,
            }),
        )
    }

    pub(super) async fn put_file(
        &self,
        key: &BlobKey,
        path: &Path,
        ct: &str,
    ) -> Result<(), ServiceError> {
        self.blobs
            .put_file(key, path, ct)
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
        for chunk in days.chunks(DAYS_PER_REFRESH) {
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
}

/// Names under `sales/single/` are single sales' ([`SalesService::record_sales`]):
/// a file may not take one.
fn reserved(name: &str) -> Result<(), ServiceError> {
    if name.starts_with(super::SINGLE_SALES_PREFIX) {
        return Err(ServiceError::Invalid(
            crate::domain::ValidationError::field(
                "name",
                "bad-name",
                format!(
                    "names under {} are kept for single sales",
                    super::SINGLE_SALES_PREFIX
                ),
            ),
        ));
    }
    Ok(())
}
