//! Store sales files: a streaming parser and validator for the sales CSV format
//! defined in `docs/sales.md`.
//!
//! One pass over any [`Read`], bounded memory: [`SalesReader`] yields one
//! `Ok(SalesRow)` or `Err(RowError)` per data row (so a loader can stream rows into
//! the database without holding the file), and fails with a [`SalesFileError`] when
//! the file as a whole is unusable (no header, missing columns, a record over the
//! size limit, a quote never closed...). [`validate`] runs the reader to the end and
//! returns the [`SalesValidation`] summary.
//!
//! ```
//! use chrono::NaiveDate;
//! use kcl_core::domain::{validate, ValidateOptions};
//!
//! let csv = "loja;data;codigo;produto;quantidade;preco_unitario\n\
//!            S1;23/11/2026;789;Café 500 g;2;1.234,50\n\
//!            S1;31/02/2026;790;Açúcar;1;4,99\n";
//! let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
//! let summary = validate(csv.as_bytes(), ValidateOptions::new(today)).unwrap();
//! assert_eq!((summary.rows_total, summary.rows_valid, summary.rows_rejected), (2, 1, 1));
//! assert_eq!(summary.errors[0].code, "bad-date");
//! assert_eq!(summary.errors[0].line, 3);
//! ```
//!
//! Values are data, never formulas: a product name such as `=cmd|' /C calc'!A0` is
//! accepted as text. Whoever writes values back into a spreadsheet format (the CSV
//! reports) must neutralise cells starting with `=`, `+`, `-` or `@`.

mod fields;
mod format;
mod guard;
mod ingest;
mod keys;
mod reader;
mod report;
mod row;
mod schedule;

pub use format::{
    ColumnMapping, DateOrder, SalesFormat, SalesFormatError, SalesProfile, SalesProfileSpec,
    SalesProfiles, TaxRate, TaxRateSpec,
};
pub use ingest::{
    DayTotals, GroupBy, IngestPolicy, LoadOutcome, ReportLine, SalesFile, StockChange, StockLevel,
    StoreDay, SummaryQuery, SummaryRow,
};
pub use keys::SalesKey;
pub use reader::{
    validate, DetectedEncoding, EncodingPolicy, RowResult, SalesFileError, SalesReader,
    SalesValidation, ValidateOptions,
};
pub use report::{format_cents, neutralise_cell, write_csv_report, ReportMeta};
pub use row::{Quantity, RowError, SalesRow};
pub use schedule::{ReportSchedule, DEFAULT_REPORT_TZ};

use chrono::NaiveDate;

pub(crate) use fields::is_identifier;

/// The default limit on the size of one record (a line, or several lines when a
/// quoted field spans them), in bytes.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// The default number of row errors kept in [`SalesValidation::errors`] (all are counted).
pub const MAX_KEPT_ERRORS: usize = 100;
/// The default number of distinct `(store_id, receipt_id, sku)` keys remembered for
/// the duplicate check (8-byte hashes: about 18 bytes each with the set's overhead,
/// so about 36 MiB at this cap).
pub const MAX_DUPLICATE_KEYS: usize = 2_000_000;
/// The most characters kept of a rejected record's raw text ([`RowError::raw`]).
pub const MAX_RAW_CHARS: usize = 1024;
/// The longest store id and SKU, in characters.
pub const MAX_ID_CHARS: usize = 32;
/// The longest receipt id, in characters.
pub const MAX_RECEIPT_CHARS: usize = 64;
/// The longest product name, in characters.
pub const MAX_PRODUCT_NAME_CHARS: usize = 200;
/// The largest quantity on one line, in thousandths (one million units).
pub const MAX_QUANTITY_THOUSANDTHS: i64 = 1_000_000_000;
/// The earliest accepted sale date.
pub const MIN_SALE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
const MAX_CENTS: i64 = 100_000_000_000;

#[cfg(test)]
mod tests;
