//! File formats KCL writes its sales data out as: curated copies of a load (Parquet)
//! and reports (PDF). The writers are adapters (the `kcl-formats` crate, chosen by
//! the `kcl` facade's `parquet` and `pdf` features); the CSV report stays in core
//! ([`CsvReports`](crate::services::CsvReports)): plain text, no dependency.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::domain::{ReportLine, ReportMeta, RowSpool, StoreDay};
use crate::BoxError;

/// One curated file written by a [`CuratedWriter`]: one store's rows of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuratedPart {
    /// The store and day of every row in the file.
    pub day: StoreDay,
    /// The file.
    pub path: PathBuf,
    /// Rows written to it.
    pub rows: u64,
}

/// Why a [`CuratedWriter`] wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CuratedError {
    /// A spooled value the format cannot hold (out of its decimal range).
    #[error("{0}")]
    InvalidInput(String),
    /// The folder is full; retrying once space is freed may succeed.
    #[error("{0}")]
    Unavailable(#[source] BoxError),
    /// Anything else (reading the spool, writing, an encoder failure).
    #[error("{0}")]
    Internal(#[source] BoxError),
}

impl From<io::Error> for CuratedError {
    /// A full disk is [`Unavailable`](Self::Unavailable), invalid data
    /// [`InvalidInput`](Self::InvalidInput), anything else
    /// [`Internal`](Self::Internal).
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                Self::Unavailable(Box::new(e))
            }
            io::ErrorKind::InvalidData => Self::InvalidInput(e.to_string()),
            _ => Self::Internal(Box::new(e)),
        }
    }
}

/// Writes a load's rows as curated files, one per store and day (Parquet in
/// `kcl-formats`). CPU- and disk-bound and synchronous: call it from a blocking
/// thread (`tokio::task::spawn_blocking`), never on the async runtime.
pub trait CuratedWriter: Send + Sync {
    /// The format's name in messages (`Parquet`).
    fn name(&self) -> &'static str;

    /// The files' extension, without a dot (`parquet`): the end of their keys.
    fn extension(&self) -> &'static str;

    /// The files' media type (`application/vnd.apache.parquet`).
    fn media_type(&self) -> &'static str;

    /// Writes the spool's rows into `dir` (which exists), one file per store and
    /// day, and returns the parts sorted by `day`. On an error the files written so
    /// far are removed.
    fn write(&self, spool: &dyn RowSpool, dir: &Path) -> Result<Vec<CuratedPart>, CuratedError>;
}

/// Why a [`ReportWriter`] made no report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report cannot hold these lines.
    #[error("{0}")]
    InvalidInput(String),
    /// A resource the writer needs is missing right now; retrying may succeed.
    #[error("{0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("{0}")]
    Internal(#[source] BoxError),
}

/// Renders a sales report (the PDF layout in `kcl-formats`, the CSV in core).
/// CPU-bound and synchronous: call it from a blocking thread.
pub trait ReportWriter: Send + Sync {
    /// The file extension, without a dot (`pdf`, `csv`): the end of the report's key
    /// and its `format` in API answers.
    fn extension(&self) -> &'static str;

    /// The media type (`application/pdf`, `text/csv; charset=utf-8`).
    fn media_type(&self) -> &'static str;

    /// The report of `lines` (at most the service's line limit), with `meta`'s
    /// period, store and time at its top.
    fn render(&self, meta: &ReportMeta, lines: &[ReportLine]) -> Result<Bytes, ReportError>;
}
