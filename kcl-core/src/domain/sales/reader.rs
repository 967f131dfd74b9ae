//! The streaming reader and validator of the sales CSV format.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Chain, Cursor, Read};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields::{is_identifier, parse_date_in, parse_decimal, slashed_day_month, NumError};
use super::format::{DateOrder, SalesFormat, TaxRate};
use super::guard::{Guard, GuardFault};
use super::row::line_cents;
use super::{
    Quantity, RowError, SalesRow, MAX_CENTS, MAX_DUPLICATE_KEYS, MAX_ID_CHARS, MAX_KEPT_ERRORS,
    MAX_PRODUCT_NAME_CHARS, MAX_QUANTITY_THOUSANDTHS, MAX_RAW_CHARS, MAX_RECEIPT_CHARS,
    MAX_RECORD_BYTES, MIN_SALE_DATE,
};
use crate::domain::Money;

/// Why a whole file is refused (nothing in it should be loaded).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SalesFileError {
    /// No bytes, or only a byte order mark and blank space.
    #[error("the file is empty")]
    Empty,
    /// A header but not a single data row.
    #[error("the file has a header but no data rows")]
    NoRows,
    /// The header holds NUL or other control bytes: not a text file.
    #[error("the file is not text (control bytes in the first line)")]
    NotText,
    /// A byte order mark of an encoding other than UTF-8.
    #[error("unsupported encoding {0}: save the file as UTF-8 (or Windows-1252)")]
    UnsupportedEncoding(&'static str),
    /// Required columns are missing from the header.
    #[error("missing required column(s): {}; if your file names them otherwise, map its headers to them (a column mapping, docs/sales.md)", .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    /// A column mapping names a header the file does not have.
    #[error(
        "the column mapping reads {column} from `{header}`, but the header has no such column"
    )]
    MappedColumnMissing {
        /// The canonical column.
        column: &'static str,
        /// The header the mapping names, as given.
        header: String,
    },
    /// Under a column mapping without a date order, a date reads both day first and
    /// month first before any date decided the order; nothing is loaded.
    #[error("line {line}: the date {value} reads both as day/month and month/day; say which order the file uses (date_order dmy or mdy)")]
    AmbiguousDateOrder {
        /// The line of the date.
        line: u64,
        /// The date as written.
        value: String,
    },
    /// Two header cells name the same column (possibly through an alias).
    #[error("column {column} appears twice in the header (`{first}` and `{second}`)")]
    DuplicateColumn {
        /// The canonical column name.
        column: &'static str,
        /// The first header cell naming it, as written.
        first: String,
        /// The second header cell naming it, as written.
        second: String,
    },
    /// A record over the size limit; the file is not read further.
    #[error("the record at line {line} is longer than {limit} bytes")]
    RecordTooLong {
        /// The line where the record starts.
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A quoted field never closed before the end of the file.
    #[error("unbalanced quotes: the quoted field opened at line {line} is never closed")]
    UnbalancedQuote {
        /// The line where the record with the open quote starts.
        line: u64,
    },
    /// Reading the input failed.
    #[error("reading the file failed: {0}")]
    Io(#[from] io::Error),
}

impl SalesFileError {
    /// A stable kebab-case code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty-file",
            Self::NoRows => "no-rows",
            Self::NotText => "not-text",
            Self::UnsupportedEncoding(_) => "unsupported-encoding",
            Self::MissingColumns(_) | Self::MappedColumnMissing { .. } => "missing-column",
            Self::AmbiguousDateOrder { .. } => "ambiguous-date-order",
            Self::DuplicateColumn { .. } => "duplicate-column",
            Self::RecordTooLong { .. } => "record-too-long",
            Self::UnbalancedQuote { .. } => "unbalanced-quote",
            Self::Io(_) => "io",
        }
    }
}

/// What to do with bytes that are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EncodingPolicy {
    /// A record that is not valid UTF-8 is decoded as Windows-1252 (default).
    #[default]
    Auto,
    /// A record that is not valid UTF-8 is rejected (`bad-encoding`).
    Utf8Only,
}

/// The encoding the file turned out to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectedEncoding {
    /// Every record was valid UTF-8.
    Utf8,
    /// At least one record was not valid UTF-8 and was read as Windows-1252.
    Windows1252,
}

/// Options for reading a sales file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ValidateOptions {
    /// Today's date: sale dates after it are rejected (`future-date`). Passed in,
    /// never read from a clock.
    pub today: NaiveDate,
    /// The largest record, in bytes ([`MAX_RECORD_BYTES`]).
    pub max_record_bytes: usize,
    /// How many row errors the summary keeps ([`MAX_KEPT_ERRORS`]).
    pub max_errors: usize,
    /// How many distinct duplicate-check keys are remembered ([`MAX_DUPLICATE_KEYS`]).
    pub max_duplicate_keys: usize,
    /// What to do with bytes that are not UTF-8.
    pub encoding: EncodingPolicy,
    /// The file's column mapping, date order and tax rate (KCL's own by default).
    pub format: SalesFormat,
}

impl ValidateOptions {
    /// The default limits, with `today` as the latest accepted sale date.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            today,
            max_record_bytes: MAX_RECORD_BYTES,
            max_errors: MAX_KEPT_ERRORS,
            max_duplicate_keys: MAX_DUPLICATE_KEYS,
            encoding: EncodingPolicy::Auto,
            format: SalesFormat::default(),
        }
    }
}

/// The outcome of reading a whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesValidation {
    /// Data rows read (blank records not counted).
    pub rows_total: u64,
    /// Rows that passed every rule.
    pub rows_valid: u64,
    /// Rows rejected; `rows_total == rows_valid + rows_rejected`.
    pub rows_rejected: u64,
    /// Records whose fields were all empty (such as `;;;;;`), skipped.
    pub blank_records: u64,
    /// The first row errors, in file order (at most `max_errors`).
    pub errors: Vec<RowError>,
    /// The field delimiter detected from the header.
    pub delimiter: char,
    /// The encoding detected.
    pub encoding: DetectedEncoding,
    /// Header cells that name no known column and were ignored, as written.
    pub ignored_columns: Vec<String>,
    /// The order slashed dates were read in: the one given, the one a mapped
    /// file's dates showed, or `dmy`; `None` when no slashed date was read under a
    /// mapping without an order.
    pub date_order: Option<DateOrder>,
    /// The earliest and latest sale dates among valid rows.
    pub date_range: Option<(NaiveDate, NaiveDate)>,
    /// False when more distinct keys than `max_duplicate_keys` appeared: past the
    /// cap, a line is still checked against the remembered keys but its own key is
    /// not remembered, so some duplicates may go unseen.
    pub duplicate_check_complete: bool,
}

/// The columns of the format, in canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    StoreId,
    SaleDate,
    ReceiptId,
    Sku,
    ProductName,
    Quantity,
    UnitPrice,
    Total,
}

pub(super) const COLS: [Col; 8] = [
    Col::StoreId,
    Col::SaleDate,
    Col::ReceiptId,
    Col::Sku,
    Col::ProductName,
    Col::Quantity,
    Col::UnitPrice,
    Col::Total,
];

impl Col {
    pub(super) fn name(self) -> &'static str {
        match self {
            Col::StoreId => "store_id",
            Col::SaleDate => "sale_date",
            Col::ReceiptId => "receipt_id",
            Col::Sku => "sku",
            Col::ProductName => "product_name",
            Col::Quantity => "quantity",
            Col::UnitPrice => "unit_price",
            Col::Total => "total",
        }
    }

    fn alias(self) -> &'static str {
        match self {
            Col::StoreId => "loja",
            Col::SaleDate => "data",
            Col::ReceiptId => "cupom",
            Col::Sku => "codigo",
            Col::ProductName => "produto",
            Col::Quantity => "quantidade",
            Col::UnitPrice => "preco_unitario",
            Col::Total => "total",
        }
    }

    fn required(self) -> bool {
        !matches!(self, Col::ReceiptId | Col::ProductName | Col::Total)
    }

    fn from_header(cell: &str) -> Option<Col> {
        let norm = normal_header(cell);
        COLS.into_iter()
            .find(|c| c.name() == norm || c.alias() == norm)
    }

    /// A column by its canonical name or alias, exactly.
    pub(super) fn from_name(name: &str) -> Option<Col> {
        COLS.into_iter()
            .find(|c| c.name() == name || c.alias() == name)
    }
}

/// A header cell as compared: folded (case, accents), blanks and hyphens as `_`.
fn normal_header(cell: &str) -> String {
    crate::domain::fold(cell.trim())
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '-' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

type Source<R> = Guard<Chain<Cursor<Vec<u8>>, R>>;

/// One data row's outcome: the row, or why it was rejected.
pub type RowResult = Result<SalesRow, RowError>;

/// A streaming reader of a sales file: reads the header in [`SalesReader::new`],
/// then yields one [`RowResult`] per data row, or a [`SalesFileError`] (after which
/// it yields nothing). Memory stays bounded whatever the file size: one record
/// (at most `max_record_bytes`), the first `max_errors` errors and the
/// duplicate-check set (at most `max_duplicate_keys` 8-byte hashes).
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{SalesReader, ValidateOptions};
///
/// let csv = "sku,store_id,sale_date,quantity,unit_price\nA1,S1,2026-11-23,\"1,5\",2.00\n";
/// let opts = ValidateOptions::new(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
/// let mut rows = SalesReader::new(csv.as_bytes(), opts).unwrap();
/// for item in &mut rows {
///     let row = item.unwrap().unwrap(); // file error, then row error
///     assert_eq!(row.quantity.thousandths(), 1500);
///     assert_eq!(row.revenue_cents(), 300);
/// }
/// assert_eq!(rows.summary().rows_valid, 1);
/// ```
pub struct SalesReader<R: Read> {
    csv: csv::Reader<Source<R>>,
    record: csv::ByteRecord,
    /// The header's position of each canonical column (indexed like `COLS`).
    positions: [Option<usize>; 8],
    header_len: usize,
    options: ValidateOptions,
    seen: HashSet<u64>,
    hasher: RandomState,
    summary: SalesValidation,
    finished: bool,
    /// The start line of the current record.
    line: u64,
    /// A file error met while checking a row (an ambiguous date order), returned next.
    fatal: Option<SalesFileError>,
}

impl<R: Read> fmt::Debug for SalesReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesReader")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// Reads a whole sales file and returns its summary (see [`SalesReader`]).
pub fn validate(
    reader: impl Read,
    options: ValidateOptions,
) -> Result<SalesValidation, SalesFileError> {
    let mut r = SalesReader::new(reader, options)?;
    for item in &mut r {
        let _row_or_error: RowResult = item?;
    }
    Ok(r.into_summary())
}

impl<R: Read> SalesReader<R> {
    /// Reads and checks the header: detects the encoding's byte order mark, the
    /// delimiter, and maps the columns.
    pub fn new(mut inner: R, options: ValidateOptions) -> Result<Self, SalesFileError> {
        let limit = options.max_record_bytes.max(64);
        // Read up to the first newline (or the limit) to look at the header.
        let mut head = Vec::with_capacity(8192);
        let mut chunk = [0u8; 8192];
        loop {
            let n = match inner.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                break;
            }
            let scan_from = head.len();
            head.extend_from_slice(&chunk[..n]);
            if head[scan_from..].contains(&b'\n') || head.len() > limit + 3 {
                break;
            }
        }
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(SalesFileError::UnsupportedEncoding("UTF-16"));
        }
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            head.drain(..3);
        }
        let line_end = head.iter().position(|&b| b == b'\n');
        let first_line = &head[..line_end.unwrap_or(head.len())];
        if line_end.is_none() && first_line.len() > limit {
            return Err(SalesFileError::RecordTooLong { line: 1, limit });
        }
        if head.iter().all(u8::is_ascii_whitespace) {
            return Err(SalesFileError::Empty);
        }
        if first_line
            .iter()
            .any(|&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7F)
        {
            return Err(SalesFileError::NotText);
        }
        let delimiter = detect_delimiter(first_line);
        let source = Guard::new(Cursor::new(head).chain(inner), delimiter, limit);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(source);
        let mut record = csv::ByteRecord::new();
        match csv.read_byte_record(&mut record) {
            Ok(true) => {
                csv.get_mut().take_start();
            }
            Ok(false) => return Err(SalesFileError::Empty),
            Err(e) => return Err(file_error(e)),
        }
        let mut encoding = DetectedEncoding::Utf8;
        let mut positions = [None; 8];
        let mut names: [Option<String>; 8] = Default::default();
        let mut ignored = Vec::new();
        let mapping = &options.format.columns;
        let mapped: [Option<String>; 8] = COLS.map(|c| mapping.of(c).map(normal_header));
        for (i, raw) in record.iter().enumerate() {
            let cell = match std::str::from_utf8(raw) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => {
                    encoding = DetectedEncoding::Windows1252;
                    encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0
                }
            };
            // The mapping first (one header may feed several columns), then KCL's
            // own names for the columns the mapping leaves alone.
            let norm = normal_header(&cell);
            let mut cols: Vec<Col> = COLS
                .into_iter()
                .filter(|c| mapped[*c as usize].as_deref() == Some(norm.as_str()))
                .collect();
            if cols.is_empty() {
                if let Some(col) = Col::from_header(&cell).filter(|c| mapping.of(*c).is_none()) {
                    cols.push(col);
                }
            }
            if cols.is_empty() {
                if !cell.trim().is_empty() {
                    ignored.push(cell.trim().chars().take(MAX_ID_CHARS * 2).collect());
                }
                continue;
            }
            for col in cols {
                let k = col as usize;
                if let Some(first) = &names[k] {
                    return Err(SalesFileError::DuplicateColumn {
                        column: col.name(),
                        first: first.clone(),
                        second: cell.trim().to_owned(),
                    });
                }
                positions[k] = Some(i);
                names[k] = Some(cell.trim().to_owned());
            }
        }
        if let Some(col) = COLS
            .into_iter()
            .find(|c| mapping.of(*c).is_some() && positions[*c as usize].is_none())
        {
            return Err(SalesFileError::MappedColumnMissing {
                column: col.name(),
                header: mapping.of(col).unwrap_or_default().to_owned(),
            });
        }
        let missing: Vec<&'static str> = COLS
            .into_iter()
            .filter(|c| c.required() && positions[*c as usize].is_none())
            .map(Col::name)
            .collect();
        if !missing.is_empty() {
            return Err(SalesFileError::MissingColumns(missing));
        }
        // Inferred only when the dates come from a mapped column (an export's own):
        // a file whose `sale_date` is KCL's keeps KCL's day-first default.
        let date_order = match options.format.date_order {
            Some(order) => Some(order),
            None if mapping.of(Col::SaleDate).is_none() => Some(DateOrder::Dmy),
            None => None,
        };
        Ok(Self {
            header_len: record.len(),
            csv,
            record,
            positions,
            seen: HashSet::new(),
            hasher: RandomState::new(),
            summary: SalesValidation {
                rows_total: 0,
                rows_valid: 0,
                rows_rejected: 0,
                blank_records: 0,
                errors: Vec::new(),
                delimiter: char::from(delimiter),
                encoding,
                ignored_columns: ignored,
                date_order,
                date_range: None,
                duplicate_check_complete: true,
            },
            options,
            finished: false,
            line: 1,
            fatal: None,
        })
    }

    /// The summary so far (complete once the reader has yielded its last item).
    pub fn summary(&self) -> &SalesValidation {
        &self.summary
    }

    /// The summary, consuming the reader.
    pub fn into_summary(self) -> SalesValidation {
        self.summary
    }

    fn row_error(&self, column: Option<Col>, code: &'static str, message: String) -> RowError {
        RowError {
            line: self.line,
            column: column.map(Col::name),
            code,
            message,
            raw: raw_text(&self.record, self.summary.delimiter as u8),
        }
    }

    /// Checks the current record.
    fn check(&mut self) -> Result<SalesRow, RowError> {
        let line = self.line;
        if self.record.len() != self.header_len {
            return Err(self.row_error(
                None,
                "bad-field-count",
                format!(
                    "has {} fields where the header has {} (wrong delimiter or unquoted delimiter in a value?)",
                    self.record.len(),
                    self.header_len
                ),
            ));
        }
        // Decode the fields we use: UTF-8, else Windows-1252 (or refuse).
        let mut values: [Cow<'_, str>; 8] = Default::default();
        let mut latin = false;
        let record = &self.record;
        for col in COLS {
            let raw = self.positions[col as usize]
                .and_then(|i| record.get(i))
                .unwrap_or(&[]);
            values[col as usize] = match std::str::from_utf8(raw) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) if self.options.encoding == EncodingPolicy::Auto => {
                    latin = true;
                    encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0
                }
                Err(_) => {
                    return Err(self.row_error(
                        Some(col),
                        "bad-encoding",
                        "is not valid UTF-8".to_owned(),
                    ))
                }
            };
        }
        if latin {
            self.summary.encoding = DetectedEncoding::Windows1252;
        }
        let v = |c: Col| values[c as usize].trim();
        for col in COLS {
            if v(col).chars().any(char::is_control) {
                return Err(self.row_error(
                    Some(col),
                    "control-character",
                    "contains a control character".to_owned(),
                ));
            }
        }
        for col in COLS {
            if col.required() && v(col).is_empty() {
                return Err(self.row_error(Some(col), "missing", "is required".to_owned()));
            }
        }
        let mapped = |c: Col| self.options.format.columns.of(c).is_some();
        let store_id = mapped_identifier(v(Col::StoreId), mapped(Col::StoreId));
        let store_id = store_id.as_ref();
        if !is_identifier(store_id, MAX_ID_CHARS) {
            return Err(self.row_error(
                Some(Col::StoreId),
                "bad-format",
                format!("must be 1 to {MAX_ID_CHARS} characters among A-Z a-z 0-9 _ - ."),
            ));
        }
        let order = match self.summary.date_order {
            Some(order) => order,
            None => match slashed_day_month(v(Col::SaleDate)) {
                Some((a, b)) if a > 12 && (1..=12).contains(&b) => {
                    self.summary.date_order = Some(DateOrder::Dmy);
                    DateOrder::Dmy
                }
                Some((a, b)) if b > 12 && (1..=12).contains(&a) => {
                    self.summary.date_order = Some(DateOrder::Mdy);
                    DateOrder::Mdy
                }
                Some((a, b)) if a != b && a <= 12 && b <= 12 && a > 0 && b > 0 => {
                    self.fatal = Some(SalesFileError::AmbiguousDateOrder {
                        line,
                        value: v(Col::SaleDate).chars().take(32).collect(),
                    });
                    return Err(self.row_error(
                        Some(Col::SaleDate),
                        "ambiguous-date-order",
                        "reads both as day/month and month/day".to_owned(),
                    ));
                }
                // ISO, or the same either way, or not a date: nothing decided yet.
                _ => DateOrder::Dmy,
            },
        };
        let sale_date = match parse_date_in(v(Col::SaleDate), order) {
            Ok(d) if d > self.options.today => {
                return Err(self.row_error(
                    Some(Col::SaleDate),
                    "future-date",
                    format!("{d} is after today ({})", self.options.today),
                ))
            }
            Ok(d) if d < MIN_SALE_DATE => {
                return Err(self.row_error(
                    Some(Col::SaleDate),
                    "date-too-old",
                    format!("{d} is before {MIN_SALE_DATE}"),
                ))
            }
            Ok(d) => d,
            Err(calendar) => {
                let message = if calendar {
                    format!("{} is not a day of the calendar", v(Col::SaleDate))
                } else {
                    match order {
                        DateOrder::Dmy => "must be a date such as 2026-11-23 or 23/11/2026",
                        DateOrder::Mdy => "must be a date such as 2026-11-23 or 11/23/2026",
                        DateOrder::Ymd => "must be a date such as 2026-11-23 or 2026/11/23",
                    }
                    .to_owned()
                };
                return Err(self.row_error(Some(Col::SaleDate), "bad-date", message));
            }
        };
        let receipt = v(Col::ReceiptId);
        if receipt.chars().count() > MAX_RECEIPT_CHARS {
            return Err(self.row_error(
                Some(Col::ReceiptId),
                "too-long",
                format!("is longer than {MAX_RECEIPT_CHARS} characters"),
            ));
        }
        let sku = mapped_identifier(v(Col::Sku), mapped(Col::Sku));
        let sku = sku.as_ref();
        if !is_identifier(sku, MAX_ID_CHARS) {
            return Err(self.row_error(
                Some(Col::Sku),
                "bad-format",
                format!("must be 1 to {MAX_ID_CHARS} characters among A-Z a-z 0-9 _ - ."),
            ));
        }
        let name = v(Col::ProductName);
        if name.len() > MAX_PRODUCT_NAME_CHARS && name.chars().count() > MAX_PRODUCT_NAME_CHARS {
            return Err(self.row_error(
                Some(Col::ProductName),
                "too-long",
                format!("is longer than {MAX_PRODUCT_NAME_CHARS} characters"),
            ));
        }
        let quantity = match parse_decimal(v(Col::Quantity), 3, false, MAX_QUANTITY_THOUSANDTHS) {
            Ok(q) if q <= 0 => {
                return Err(self.row_error(
                    Some(Col::Quantity),
                    "not-positive",
                    "must be greater than zero".to_owned(),
                ))
            }
            Ok(q) => Quantity(q),
            Err(e) => return Err(self.number_error(Col::Quantity, e, 3)),
        };
        let unit_price = self.money(Col::UnitPrice, v(Col::UnitPrice))?;
        let (total, tax_cents) = match self.options.format.tax_rate {
            None => (self.plain_total(v(Col::Total), quantity, unit_price)?, 0),
            Some(rate) => self.taxed_total(v(Col::Total), quantity, unit_price, rate)?,
        };
        if !receipt.is_empty() {
            let key = self.hasher.hash_one((store_id, receipt, sku));
            if self.seen.contains(&key) {
                return Err(self.row_error(
                    None,
                    "duplicate-line",
                    format!(
                        "repeats store {store_id}, receipt {receipt}, SKU {sku} of an earlier line"
                    ),
                ));
            }
            if self.seen.len() < self.options.max_duplicate_keys {
                self.seen.insert(key);
            } else {
                self.summary.duplicate_check_complete = false;
            }
        }
        Ok(SalesRow {
            store_id: store_id.to_owned(),
            sale_date,
            receipt_id: (!receipt.is_empty()).then(|| receipt.to_owned()),
            sku: sku.to_owned(),
            product_name: (!name.is_empty()).then(|| name.to_owned()),
            quantity,
            unit_price,
            total,
            tax_cents,
            line,
        })
    }

    /// A `total` without tax: quantity x unit price within one cent.
    fn plain_total(
        &self,
        given: &str,
        quantity: Quantity,
        unit_price: Money,
    ) -> Result<Option<Money>, RowError> {
        if given.is_empty() {
            return Ok(None);
        }
        let t = self.money(Col::Total, given)?;
        let exact = i128::from(quantity.0) * i128::from(unit_price.cents());
        if (i128::from(t.cents()) * 1000 - exact).abs() > 1000 {
            return Err(self.row_error(
                Some(Col::Total),
                "total-mismatch",
                format!(
                    "{t} differs from quantity x unit price ({quantity} x {unit_price} = {}) by more than one cent",
                    Money::from_cents(line_cents(quantity, unit_price)).unwrap_or(Money::ZERO)
                ),
            ));
        }
        Ok(Some(t))
    }

    /// A `total` that includes `rate`: quantity x unit price x (1 + rate) within one
    /// cent, up to four decimals (rounded half up to the cent); computed when not
    /// given. Returns the total and the tax in cents.
    fn taxed_total(
        &self,
        given: &str,
        quantity: Quantity,
        unit_price: Money,
        rate: TaxRate,
    ) -> Result<(Option<Money>, i64), RowError> {
        let base = line_cents(quantity, unit_price);
        // In ten-millionths of a cent: thousandths x cents x (10,000 + basis points).
        let exact = i128::from(quantity.0)
            * i128::from(unit_price.cents())
            * i128::from(10_000 + rate.basis_points());
        let computed =
            i64::try_from((exact + 5_000_000).div_euclid(10_000_000)).unwrap_or(i64::MAX);
        if given.is_empty() {
            return Ok((None, computed - base));
        }
        // Ten-thousandths of the currency (hundredths of a cent).
        let t4 = match parse_decimal(given, 4, false, MAX_CENTS * 100) {
            Ok(c) if c < 0 => {
                return Err(self.row_error(
                    Some(Col::Total),
                    "negative",
                    "must not be negative".to_owned(),
                ))
            }
            Ok(c) => c,
            Err(e) => return Err(self.number_error(Col::Total, e, 4)),
        };
        if (i128::from(t4) * 100_000 - exact).abs() > 10_000_000 {
            return Err(self.row_error(
                Some(Col::Total),
                "total-mismatch",
                format!(
                    "{given} differs from quantity x unit price plus {rate} tax ({quantity} x {unit_price} + {rate} = {}) by more than one cent",
                    Money::from_cents(computed).unwrap_or(Money::ZERO)
                ),
            ));
        }
        let cents = (t4 + 50).div_euclid(100);
        let total = Money::from_cents(cents)
            .map_err(|_| self.number_error(Col::Total, NumError::TooLarge, 4))?;
        // Within the cent of tolerance a total may round under the base: no tax then.
        Ok((Some(total), (cents - base).clamp(0, cents)))
    }

    fn money(&self, col: Col, s: &str) -> Result<Money, RowError> {
        match parse_decimal(s, 2, true, MAX_CENTS) {
            Ok(c) if c < 0 => {
                Err(self.row_error(Some(col), "negative", "must not be negative".to_owned()))
            }
            Ok(c) => {
                Money::from_cents(c).map_err(|_| self.number_error(col, NumError::TooLarge, 2))
            }
            Err(e) => Err(self.number_error(col, e, 2)),
        }
    }

    fn number_error(&self, col: Col, e: NumError, scale: u32) -> RowError {
        match e {
            NumError::Format => self.row_error(
                Some(col),
                "bad-number",
                "must be a number such as 1234.56, 1.234,56 or 1234,56".to_owned(),
            ),
            NumError::Decimals => self.row_error(
                Some(col),
                "too-many-decimals",
                format!("has more than {scale} decimals"),
            ),
            NumError::TooLarge => self.row_error(Some(col), "too-large", "is too large".to_owned()),
        }
    }
}

impl<R: Read> Iterator for SalesReader<R> {
    type Item = Result<RowResult, SalesFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(true) => {
                    self.line = self.csv.get_mut().take_start().unwrap_or(self.line);
                }
                Ok(false) => {
                    self.finished = true;
                    if self.summary.rows_total == 0 {
                        return Some(Err(SalesFileError::NoRows));
                    }
                    return None;
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(file_error(e)));
                }
            }
            if self
                .record
                .iter()
                .all(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                self.summary.blank_records += 1;
                continue;
            }
            break;
        }
        self.summary.rows_total += 1;
        let result = self.check();
        if let Some(fatal) = self.fatal.take() {
            self.finished = true;
            return Some(Err(fatal));
        }
        match &result {
            Ok(row) => {
                self.summary.rows_valid += 1;
                let d = row.sale_date;
                self.summary.date_range = Some(match self.summary.date_range {
                    None => (d, d),
                    Some((a, b)) => (a.min(d), b.max(d)),
                });
            }
            Err(e) => {
                self.summary.rows_rejected += 1;
                if self.summary.errors.len() < self.options.max_errors {
                    self.summary.errors.push(e.clone());
                }
            }
        }
        Some(Ok(result))
    }
}

/// A store id or SKU read from a mapped column: blanks inside become `-`.
fn mapped_identifier(value: &str, mapped: bool) -> Cow<'_, str> {
    if mapped && value.contains(char::is_whitespace) {
        Cow::Owned(value.split_whitespace().collect::<Vec<_>>().join("-"))
    } else {
        Cow::Borrowed(value)
    }
}

/// `;` when the header has more semicolons than commas outside quotes, else `,`.
fn detect_delimiter(line: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

fn file_error(e: csv::Error) -> SalesFileError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => {
            if let Some(fault) = io.get_ref().and_then(|i| i.downcast_ref::<GuardFault>()) {
                return match *fault {
                    GuardFault::TooLong { line, limit } => {
                        SalesFileError::RecordTooLong { line, limit }
                    }
                    GuardFault::OpenQuote { line } => SalesFileError::UnbalancedQuote { line },
                };
            }
            SalesFileError::Io(io)
        }
        other => SalesFileError::Io(io::Error::other(format!("{other:?}"))),
    }
}

/// The record as one CSV line (quoted as needed), decoded, at most MAX_RAW_CHARS.
fn raw_text(record: &csv::ByteRecord, delimiter: u8) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let written = w.write_byte_record(record).is_ok() && w.flush().is_ok();
    let mut bytes = if written {
        w.get_ref().clone()
    } else {
        record.as_slice().to_vec()
    };
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(e.as_bytes())
            .0
            .into_owned(),
    };
    if text.len() <= MAX_RAW_CHARS {
        text
    } else {
        text.chars().take(MAX_RAW_CHARS).collect()
    }
}
