//! KCL's file-format adapters: what the sales service writes its data out as, behind
//! the ports of `kcl_core::ports`.
//!
//! - [`spool::CsvSpooler`] (always): a [`Spooler`](kcl_core::ports::Spooler) that
//!   spools a load's valid rows into a CSV file, so that loads need no memory
//!   proportional to the file.
//! - [`parquet::ParquetWriter`] (feature `parquet`): a
//!   [`CuratedWriter`](kcl_core::ports::CuratedWriter) that writes each loaded sales
//!   file as Parquet, one file per store and day, in bounded memory.
//! - [`pdf::PdfReports`] (feature `pdf`): a
//!   [`ReportWriter`](kcl_core::ports::ReportWriter) that lays a sales report out
//!   as a PDF.
//!
//! The `kcl` facade puts the spooler in `Ports::spools`; its `parquet` and `pdf`
//! features build the others and put them in `Ports::curated` and
//! `Ports::pdf_reports`; without them, the service skips
//! curated copies and answers `not-enabled` for PDF reports. CSV reports are plain
//! text and stay in core (`kcl_core::services::CsvReports`).
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "parquet")]
#[cfg_attr(docsrs, doc(cfg(feature = "parquet")))]
pub mod parquet;
#[cfg(feature = "pdf")]
#[cfg_attr(docsrs, doc(cfg(feature = "pdf")))]
pub mod pdf;
pub mod spool;
