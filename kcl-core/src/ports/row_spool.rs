//! The spool of a load's valid rows: a file, handed from the sales service to a
//! [`SalesRepo`](super::SalesRepo) so that loading needs no memory proportional to
//! the file.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Money, Quantity, SalesRow};

/// A file's valid rows, normalised and spooled to disk so that loading needs no
/// memory proportional to the file, and so that a PostgreSQL loader can `COPY` the
/// bytes as they are.
///
/// The spool is CSV without a header, one line per row, columns in this order
/// (`COLUMNS`): `file_id, line, store_id, sale_date (ISO), receipt_id (empty =
/// NULL), sku, product_name (empty = NULL), quantity (thousandths),
/// unit_price (cents), revenue (cents)`. The file is deleted on drop.
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{Money, Quantity, SalesRow};
/// use kcl_core::ports::RowSpool;
///
/// let dir = tempfile::tempdir().unwrap();
/// let id = uuid::Uuid::nil();
/// let mut spool = RowSpool::create(dir.path(), id).unwrap();
/// spool.push(&SalesRow {
///     store_id: "S1".into(),
///     sale_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
///     receipt_id: None,
///     sku: "789".into(),
///     product_name: Some("=1+1, \"quoted\"".into()),
///     quantity: Quantity::from_thousandths(1500),
///     unit_price: Money::from_cents(200).unwrap(),
///     total: None,
///     line: 2,
/// }).unwrap();
/// let spool = spool.finish().unwrap();
/// assert_eq!(spool.rows(), 1);
/// let rows: Vec<_> = spool.read().unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!(rows[0].product_name.as_deref(), Some("=1+1, \"quoted\""));
/// assert_eq!(rows[0].revenue_cents, 300);
/// ```
#[derive(Debug)]
pub struct RowSpool {
    path: PathBuf,
    file_id: Uuid,
    rows: u64,
    out: Option<csv::Writer<BufWriter<File>>>,
}

/// One row read back from a [`RowSpool`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SpooledRow {
    /// The load it belongs to.
    pub file_id: Uuid,
    /// Its line in the file.
    pub line: u64,
    /// The store.
    pub store_id: String,
    /// The day.
    pub sale_date: NaiveDate,
    /// The receipt, if any.
    pub receipt_id: Option<String>,
    /// The SKU.
    pub sku: String,
    /// The product name, if any.
    pub product_name: Option<String>,
    /// Thousandths.
    pub quantity: i64,
    /// Cents.
    pub unit_price_cents: i64,
    /// Cents.
    pub revenue_cents: i64,
}

impl RowSpool {
    /// The spool's columns, in order: a loader's column list.
    pub const COLUMNS: [&'static str; 10] = [
        "file_id",
        "line",
        "store_id",
        "sale_date",
        "receipt_id",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
        "revenue",
    ];

    /// Starts a spool file in `dir` for the load `file_id`.
    pub fn create(dir: &Path, file_id: Uuid) -> io::Result<Self> {
        let path = dir.join(format!("kcl-sales-{file_id}.csv"));
        let file = File::create(&path)?;
        let out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        Ok(Self {
            path,
            file_id,
            rows: 0,
            out: Some(out),
        })
    }

    /// Appends a valid row.
    pub fn push(&mut self, row: &SalesRow) -> io::Result<()> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("spool already finished"))?;
        let mut id = Uuid::encode_buffer();
        let mut num = itoa_buf();
        out.write_field(self.file_id.hyphenated().encode_lower(&mut id))?;
        out.write_field(fmt_int(&mut num, row.line as i64))?;
        out.write_field(&row.store_id)?;
        {
            use chrono::Datelike as _;
            use std::fmt::Write as _;
            let d = row.sale_date;
            num.clear();
            let _ = write!(num, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
            out.write_field(&num)?;
        }
        out.write_field(row.receipt_id.as_deref().unwrap_or(""))?;
        out.write_field(&row.sku)?;
        out.write_field(row.product_name.as_deref().unwrap_or(""))?;
        out.write_field(fmt_int(&mut num, row.quantity.thousandths()))?;
        out.write_field(fmt_int(&mut num, row.unit_price.cents()))?;
        out.write_field(fmt_int(&mut num, row.revenue_cents()))?;
        out.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes the spool to disk; it can then be read.
    pub fn finish(mut self) -> io::Result<Self> {
        if let Some(out) = self.out.take() {
            let mut inner = out.into_inner().map_err(|e| e.into_error())?;
            inner.flush()?;
        }
        Ok(self)
    }

    /// The load id the rows carry.
    pub fn file_id(&self) -> Uuid {
        self.file_id
    }

    /// Rows spooled.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The spool file (CSV, see the type's docs), for loaders that stream its bytes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the rows back in batches of `size`, on a blocking thread, through a
    /// channel holding at most two batches (for async loaders: the reading never
    /// blocks the runtime, and memory stays bounded). A read error ends the stream.
    pub fn read_batches(
        &self,
        size: usize,
    ) -> tokio::sync::mpsc::Receiver<io::Result<Vec<SpooledRow>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let size = size.max(1);
        let rows = match self.read() {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.try_send(Err(e));
                return rx;
            }
        };
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(size);
            for row in rows {
                match row {
                    Ok(r) => batch.push(r),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
                if batch.len() == size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
                    if tx.blocking_send(Ok(full)).is_err() {
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(Ok(batch));
            }
        });
        rx
    }

    /// Reads the rows back, in order.
    pub fn read(
        &self,
    ) -> io::Result<impl Iterator<Item = io::Result<SpooledRow>> + Send + 'static> {
        let file = BufReader::with_capacity(1 << 16, File::open(&self.path)?);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(file);
        Ok(reader
            .into_deserialize::<SpooledRow>()
            .map(|r| r.map_err(io::Error::other)))
    }
}

impl Drop for RowSpool {
    fn drop(&mut self) {
        self.out = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

fn itoa_buf() -> String {
    String::with_capacity(24)
}

fn fmt_int(buf: &mut String, v: i64) -> &str {
    use std::fmt::Write as _;
    buf.clear();
    let _ = write!(buf, "{v}");
    buf.as_str()
}

impl SpooledRow {
    /// The row's quantity.
    pub fn quantity(&self) -> Quantity {
        Quantity::from_thousandths(self.quantity)
    }

    /// The row's unit price.
    pub fn unit_price(&self) -> Money {
        Money::from_cents(self.unit_price_cents).unwrap_or(Money::ZERO)
    }
}
