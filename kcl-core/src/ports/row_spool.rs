//! The spool of a load's valid rows: written once by the sales service as it reads
//! a file, then read by the [`SalesRepo`](super::SalesRepo) that loads them and by
//! the [`CuratedWriter`](super::CuratedWriter) that copies them, so that loading
//! needs no memory proportional to the file.
//!
//! A [`Spooler`] makes spools. The adapters: a CSV file in a folder
//! (`kcl_formats::spool::CsvSpooler`, what the hosts use) and
//! [`MemorySpooler`](crate::memory::MemorySpooler) (rows in memory, for the memory
//! backend and tests).

use std::fmt;
use std::io;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Money, Quantity, SalesRow};

/// The columns of a spool's CSV form ([`RowSpool::csv`]), in order: a loader's
/// column list.
pub const SPOOL_COLUMNS: [&str; 11] = [
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
    "tax",
];

/// Makes the spools of loads.
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{Money, Quantity, SalesRow};
/// use kcl_core::memory::MemorySpooler;
/// use kcl_core::ports::Spooler;
///
/// let mut writer = MemorySpooler.create(uuid::Uuid::nil()).unwrap();
/// writer.push(&SalesRow {
///     store_id: "S1".into(),
///     sale_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
///     receipt_id: None,
///     sku: "789".into(),
///     product_name: Some("=1+1, \"quoted\"".into()),
///     quantity: Quantity::from_thousandths(1500),
///     unit_price: Money::from_cents(200).unwrap(),
///     total: None,
///     tax_cents: 0,
///     line: 2,
/// }).unwrap();
/// let spool = writer.finish().unwrap();
/// assert_eq!(spool.rows(), 1);
/// let rows: Vec<_> = spool.read().unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!(rows[0].product_name.as_deref(), Some("=1+1, \"quoted\""));
/// assert_eq!(rows[0].revenue_cents, 300);
/// ```
pub trait Spooler: Send + Sync {
    /// Starts the spool of the load `file_id`. Blocking I/O: call it from a
    /// blocking thread.
    fn create(&self, file_id: Uuid) -> io::Result<Box<dyn SpoolWriter>>;
}

/// Writes one spool; [`finish`](SpoolWriter::finish) makes it readable. A writer
/// dropped unfinished leaves nothing behind.
pub trait SpoolWriter: Send {
    /// Appends a valid row.
    fn push(&mut self, row: &SalesRow) -> io::Result<()>;

    /// Flushes what was pushed and returns the spool to read.
    fn finish(self: Box<Self>) -> io::Result<Arc<dyn RowSpool>>;
}

/// The rows a [`RowSpool`] reads back, in order.
pub type SpooledRows = Box<dyn Iterator<Item = io::Result<SpooledRow>> + Send>;

/// A finished spool: a load's valid rows, normalised, in file order. Dropping the
/// last handle removes what it holds.
///
/// The reads are blocking I/O: call them from a blocking thread, or use
/// `read_batches` / `csv_chunks` (on `dyn RowSpool`), which read on one.
pub trait RowSpool: Send + Sync + fmt::Debug {
    /// The load the rows belong to.
    fn file_id(&self) -> Uuid;

    /// How many rows it holds.
    fn rows(&self) -> u64;

    /// Reads the rows back, in order.
    fn read(&self) -> io::Result<SpooledRows>;

    /// The rows as CSV without a header, one line per row, in the order of
    /// [`SPOOL_COLUMNS`]: `file_id, line, store_id, sale_date (ISO), receipt_id
    /// (empty = NULL), sku, product_name (empty = NULL), quantity (thousandths),
    /// unit_price (cents), revenue (cents, tax included), tax (cents)`; what PostgreSQL's `COPY ... FORMAT csv`
    /// takes as it is.
    fn csv(&self) -> io::Result<Box<dyn io::Read + Send>>;
}

impl<'a> dyn RowSpool + 'a {
    /// Reads the rows back in batches of `size`, on a blocking thread, through a
    /// channel holding at most two batches (for async loaders: the reading never
    /// blocks the runtime, and memory stays bounded). A read error ends the stream.
    pub fn read_batches(
        &self,
        size: usize,
    ) -> tokio::sync::mpsc::Receiver<io::Result<Vec<SpooledRow>>> {
        let size = size.max(1);
        let rows = self.read();
        stream_on_blocking_thread(move |tx| {
            let mut batch = Vec::with_capacity(size);
            for row in rows? {
                batch.push(row?);
                if batch.len() == size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
                    if tx.blocking_send(Ok(full)).is_err() {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(Ok(batch));
            }
            Ok(())
        })
    }

    /// The [CSV form](RowSpool::csv) in chunks of at most `size` bytes, read on a
    /// blocking thread like `read_batches`.
    pub fn csv_chunks(&self, size: usize) -> tokio::sync::mpsc::Receiver<io::Result<Vec<u8>>> {
        let size = size.max(1);
        let csv = self.csv();
        stream_on_blocking_thread(move |tx| {
            let mut csv = csv?;
            loop {
                let mut chunk = vec![0u8; size];
                let n = csv.read(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                chunk.truncate(n);
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return Ok(());
                }
            }
        })
    }
}

/// Runs `produce` on a blocking thread, sending into a channel of two; its error,
/// if any, is the stream's last item.
fn stream_on_blocking_thread<T: Send + 'static>(
    produce: impl FnOnce(&tokio::sync::mpsc::Sender<io::Result<T>>) -> io::Result<()> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<io::Result<T>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = produce(&tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    rx
}

/// One row read back from a [`RowSpool`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SpooledRow {
    /// The load it belongs to.
    pub file_id: Uuid,
    /// Its line in the file.
    pub line: u64,
    /// The store that sold.
    pub store_id: String,
    /// The day of the sale.
    pub sale_date: NaiveDate,
    /// The receipt, if the file has one.
    pub receipt_id: Option<String>,
    /// The product's code.
    pub sku: String,
    /// The product's name, if the file has one.
    pub product_name: Option<String>,
    /// The quantity in thousandths of a unit (1.5 kg is 1500).
    pub quantity: i64,
    /// The unit price in cents.
    pub unit_price_cents: i64,
    /// What the line earned, in cents, tax included: the file's total, or quantity ×
    /// unit price (plus the file's tax rate).
    pub revenue_cents: i64,
    /// The tax `revenue_cents` includes, in cents (0 unless the file was read with
    /// a tax rate).
    pub tax_cents: i64,
}

impl SpooledRow {
    /// The row as it is spooled: `file_id` and the normalised values of `row`.
    pub fn of(file_id: Uuid, row: &SalesRow) -> Self {
        Self {
            file_id,
            line: row.line,
            store_id: row.store_id.clone(),
            sale_date: row.sale_date,
            // Empty is NULL in the CSV form: the same here.
            receipt_id: row.receipt_id.clone().filter(|r| !r.is_empty()),
            sku: row.sku.clone(),
            product_name: row.product_name.clone().filter(|p| !p.is_empty()),
            quantity: row.quantity.thousandths(),
            unit_price_cents: row.unit_price.cents(),
            revenue_cents: row.revenue_cents(),
            tax_cents: row.tax_cents,
        }
    }

    /// The row's quantity.
    pub fn quantity(&self) -> Quantity {
        Quantity::from_thousandths(self.quantity)
    }

    /// The row's unit price.
    pub fn unit_price(&self) -> Money {
        Money::from_cents(self.unit_price_cents).unwrap_or(Money::ZERO)
    }
}
