//! The spool folder: the one streaming pass over a file on a blocking thread, the
//! thread that writes valid rows through the [`Spooler`] port, the rejected-rows
//! file, and the cleaning of what a crash left behind.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{FileProblem, IngestOptions, SalesService};
use crate::domain::{
    neutralise_cell, IngestPolicy, SalesReader, SalesRow, SalesValidation, StoreDay,
    ValidateOptions,
};
use crate::ports::{RowSpool, SpoolWriter, Spooler};

impl SalesService {
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
pub(super) struct Scan {
    pub(super) sha256: String,
    pub(super) summary: Option<SalesValidation>,
    pub(super) file_error: Option<FileProblem>,
    pub(super) spool: Option<Arc<dyn RowSpool>>,
    pub(super) rejected: Option<PathBuf>,
    pub(super) days: BTreeSet<StoreDay>,
    pub(super) days_complete: bool,
    /// How long the pass took.
    pub(super) elapsed: std::time::Duration,
    /// Whether a live load took the rows as they were read.
    pub(super) live: bool,
}

const MAX_TRACKED_DAYS: usize = 100_000;

/// Writes valid rows to the spool on a thread of its own, so that normalising and
/// writing them overlaps with parsing and validating the next ones; then hands each
/// spooled batch to a live load, if there is one (see
/// [`SalesRepo::load_live`](crate::ports::SalesRepo::load_live)).
struct SpoolThread {
    tx: Option<std::sync::mpsc::SyncSender<Vec<SalesRow>>>,
    batch: Vec<SalesRow>,
    handle: Option<std::thread::JoinHandle<io::Result<Arc<dyn RowSpool>>>>,
}

const SPOOL_BATCH: usize = 1024;

/// The spool of a live load whose rows nothing reads afterwards (no curated
/// copies): the rows go to the load only, and are counted. Its reads fail: the
/// service never reads it (a live load's rows are never loaded from the spool).
#[derive(Debug)]
pub(super) struct CountingSpooler;

#[derive(Debug)]
struct CountedRows {
    file_id: Uuid,
    rows: u64,
}

impl Spooler for CountingSpooler {
    fn create(&self, file_id: Uuid) -> io::Result<Box<dyn SpoolWriter>> {
        Ok(Box::new(CountedRows { file_id, rows: 0 }))
    }
}

impl SpoolWriter for CountedRows {
    fn push(&mut self, _row: &SalesRow) -> io::Result<()> {
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<Arc<dyn RowSpool>> {
        Ok(Arc::new(*self))
    }
}

impl CountedRows {
    fn not_kept() -> io::Error {
        io::Error::other("the rows of this load were not kept (nothing reads them)")
    }
}

impl RowSpool for CountedRows {
    fn file_id(&self) -> Uuid {
        self.file_id
    }

    fn rows(&self) -> u64 {
        self.rows
    }

    fn read(&self) -> io::Result<crate::ports::SpooledRows> {
        Err(Self::not_kept())
    }

    fn csv(&self) -> io::Result<Box<dyn io::Read + Send>> {
        Err(Self::not_kept())
    }
}

/// Where the spool thread hands spooled batches to a live load.
pub(super) type LiveSender = tokio::sync::mpsc::Sender<Vec<SalesRow>>;

/// SHA-256 of a file of at most `max_bytes` bytes, lowercase hex; `None` when it
/// is larger (the scan then reports it as too large). Blocking I/O.
pub(super) fn hash_file(path: &Path, max_bytes: u64) -> io::Result<Option<String>> {
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(Some(hex::encode(hash.finalize())));
        }
        read += n as u64;
        if read > max_bytes {
            return Ok(None);
        }
        hash.update(&buf[..n]);
    }
}

impl SpoolThread {
    fn start(spool: Box<dyn SpoolWriter>, live: Option<LiveSender>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SalesRow>>(4);
        let handle = std::thread::spawn(move || {
            let mut spool = spool;
            let mut live = live;
            for batch in rx {
                for row in &batch {
                    spool.push(row)?;
                }
                // A load that stopped taking rows (a duplicate, a failure) no longer
                // gets them; the spool is still written.
                if live
                    .as_ref()
                    .is_some_and(|l| l.blocking_send(batch).is_err())
                {
                    live = None;
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

    fn push(&mut self, row: SalesRow) -> io::Result<()> {
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

    fn join(&mut self) -> io::Result<Arc<dyn RowSpool>> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the spool writer panicked"))),
            None => Err(io::Error::other("the spool writer already stopped")),
        }
    }

    /// Writes the last rows and returns the finished spool.
    fn finish(mut self) -> io::Result<Arc<dyn RowSpool>> {
        if !self.batch.is_empty() {
            let rest = std::mem::take(&mut self.batch);
            if let Some(tx) = &self.tx {
                let _ = tx.send(rest);
            }
        }
        self.join()
    }

    /// Stops writing; what was spooled is dropped.
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

// The one pass's inputs, from its one caller (`SalesService::scan`).
#[allow(clippy::too_many_arguments)]
pub(super) fn scan(
    path: &Path,
    spooler: &dyn Spooler,
    spool_dir: &Path,
    file_id: Uuid,
    today: NaiveDate,
    opts: &IngestOptions,
    max_bytes: u64,
    live: Option<LiveSender>,
) -> io::Result<Scan> {
    let file = File::open(path)?;
    let mut src = Hashing {
        inner: io::BufReader::with_capacity(1 << 16, file).take(max_bytes),
        hash: Sha256::new(),
        read: 0,
        reported: 0,
        progress: opts.progress.clone(),
    };
    let mut spool = Some(SpoolThread::start(spooler.create(file_id)?, live));
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
    let mut options = ValidateOptions::new(today);
    if let Some(format) = &opts.format {
        options.format = format.clone();
    }
    match SalesReader::new(&mut src, options) {
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
        sha256: hex::encode(src.hash.finalize()),
        summary,
        file_error,
        spool,
        rejected,
        days,
        days_complete,
        elapsed: std::time::Duration::ZERO,
        live: false,
    })
}

pub(super) struct RemoveOnDrop(pub(super) PathBuf);

impl RemoveOnDrop {
    /// Keeps the file.
    pub(super) fn disarm(mut self) {
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

/// Removes a folder (a curated writer's) and what it holds.
pub(super) struct RemoveDirOnDrop(pub(super) PathBuf);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
