//! KCL's file-format adapters: what the sales service writes its data out as, behind
//! the ports of `kcl_core::ports`.
//!
//! - [`parquet::ParquetWriter`] (feature `parquet`): a
//!   [`CuratedWriter`](kcl_core::ports::CuratedWriter) that writes each loaded sales
//!   file as Parquet, one file per store and day, in bounded memory.
//! - [`pdf::PdfReports`] (feature `pdf`): a
//!   [`ReportWriter`](kcl_core::ports::ReportWriter) that lays a sales report out
//!   as a PDF.
//!
//! The `kcl` facade's `parquet` and `pdf` features build them and put them in
//! `Ports::curated` and `Ports::pdf_reports`; without them, the service skips
//! curated copies and answers `not-enabled` for PDF reports. CSV reports are plain
//! text and stay in core (`kcl_core::services::CsvReports`).

#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "pdf")]
pub mod pdf;
