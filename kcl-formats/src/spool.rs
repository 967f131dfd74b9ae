//! The row spool as a CSV file in a folder: core's [`Spooler`] port as the hosts
//! use it, so that a load of any size needs no memory proportional to the file,
//! and a PostgreSQL loader can `COPY` the file's bytes as they are.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kcl_core::domain::SalesRow;
use kcl_core::ports::{RowSpool, SpoolWriter, SpooledRow, SpooledRows, Spooler};
use uuid::Uuid;

/// Spools into CSV files named `kcl-sales-{file_id}.csv` in a folder (the sales
/// service's spool folder, whose leftovers `SalesService::clean_spool` removes).
/// The layout is [`RowSpool::csv`]'s; a file is removed when its spool is dropped.
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{Money, Quantity, SalesRow};
/// use kcl_core::ports::Spooler;
/// use kcl_formats::spool::CsvSpooler;
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut writer = CsvSpooler::new(dir.path()).create(uuid::Uuid::nil()).unwrap();
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
/// let mut csv = String::new();
/// spool.csv().unwrap().read_to_string(&mut csv).unwrap();
/// assert_eq!(csv, "00000000-0000-0000-0000-000000000000,2,S1,2026-11-23,,789,\"=1+1, \"\"quoted\"\"\",1500,200,300,0\n");
/// let rows: Vec<_> = spool.read().unwrap().collect::<Result<_, _>>().unwrap();
/// assert_eq!(rows[0].revenue_cents, 300);
/// drop(spool);
/// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct CsvSpooler {
    dir: PathBuf,
}

impl CsvSpooler {
    /// Spools into `dir`, which must exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl Spooler for CsvSpooler {
    fn create(&self, file_id: Uuid) -> io::Result<Box<dyn SpoolWriter>> {
        let path = self.dir.join(format!("kcl-sales-{file_id}.csv"));
        let file = File::create(&path)?;
        let out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        Ok(Box::new(CsvSpoolWriter {
            file: RemoveOnDrop(path),
            file_id,
            rows: 0,
            out,
            num: String::with_capacity(24),
        }))
    }
}

/// The file, removed when the last holder goes.
#[derive(Debug)]
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct CsvSpoolWriter {
    file: RemoveOnDrop,
    file_id: Uuid,
    rows: u64,
    out: csv::Writer<BufWriter<File>>,
    num: String,
}

impl CsvSpoolWriter {
    fn field(&mut self, value: impl std::fmt::Display) -> io::Result<()> {
        use std::fmt::Write as _;
        self.num.clear();
        let _ = write!(self.num, "{value}");
        self.out.write_field(&self.num)?;
        Ok(())
    }
}

impl SpoolWriter for CsvSpoolWriter {
    fn push(&mut self, row: &SalesRow) -> io::Result<()> {
        let mut id = Uuid::encode_buffer();
        self.out
            .write_field(self.file_id.hyphenated().encode_lower(&mut id))?;
        self.field(row.line)?;
        self.out.write_field(&row.store_id)?;
        self.field(row.sale_date.format("%Y-%m-%d"))?;
        self.out
            .write_field(row.receipt_id.as_deref().unwrap_or(""))?;
        self.out.write_field(&row.sku)?;
        self.out
            .write_field(row.product_name.as_deref().unwrap_or(""))?;
        self.field(row.quantity.thousandths())?;
        self.field(row.unit_price.cents())?;
        self.field(row.revenue_cents())?;
        self.field(row.tax_cents)?;
        self.out.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<Arc<dyn RowSpool>> {
        let Self {
            file,
            file_id,
            rows,
            out,
            ..
        } = *self;
        out.into_inner().map_err(|e| e.into_error())?.flush()?;
        Ok(Arc::new(CsvSpool {
            file,
            file_id,
            rows,
        }))
    }
}

/// A finished CSV spool.
#[derive(Debug)]
struct CsvSpool {
    file: RemoveOnDrop,
    file_id: Uuid,
    rows: u64,
}

impl CsvSpool {
    fn path(&self) -> &Path {
        &self.file.0
    }
}

impl RowSpool for CsvSpool {
    fn file_id(&self) -> Uuid {
        self.file_id
    }

    fn rows(&self) -> u64 {
        self.rows
    }

    fn read(&self) -> io::Result<SpooledRows> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(self.csv()?);
        Ok(Box::new(
            reader
                .into_deserialize::<SpooledRow>()
                .map(|r| r.map_err(io::Error::other)),
        ))
    }

    fn csv(&self) -> io::Result<Box<dyn io::Read + Send>> {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            File::open(self.path())?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use chrono::NaiveDate;
    use kcl_core::domain::{Money, Quantity, SalesRow};
    use kcl_core::memory::MemorySpooler;

    use super::*;

    fn rows() -> Vec<SalesRow> {
        let row =
            |line: u64, receipt: Option<&str>, name: Option<&str>, q: i64, cents: i64| SalesRow {
                store_id: "Loja 1".into(),
                sale_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                receipt_id: receipt.map(Into::into),
                sku: "7891000100103".into(),
                product_name: name.map(Into::into),
                quantity: Quantity::from_thousandths(q),
                unit_price: Money::from_cents(cents).unwrap(),
                total: None,
                tax_cents: 0,
                line,
            };
        vec![
            row(2, None, None, 1000, 0),
            row(3, Some("R-1"), Some("Café \"Pilão\", 500 g"), 1500, 1999),
            row(4, Some(""), Some(""), -2000, 250),
            row(5, Some("R;2"), Some("linha\nquebrada"), 999_999, 1),
        ]
    }

    fn spooled(spooler: &dyn Spooler, rows: &[SalesRow]) -> Arc<dyn RowSpool> {
        let mut w = spooler.create(Uuid::from_u128(7)).unwrap();
        for r in rows {
            w.push(r).unwrap();
        }
        w.finish().unwrap()
    }

    /// The memory spool (what the conformance kits load) and the file spool (what
    /// the hosts load) read back the same rows and give the same CSV bytes.
    #[test]
    fn the_file_spool_and_the_memory_spool_agree() {
        let dir = tempfile::tempdir().unwrap();
        let file = spooled(&CsvSpooler::new(dir.path()), &rows());
        let memory = spooled(&MemorySpooler, &rows());
        let read =
            |s: &Arc<dyn RowSpool>| s.read().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let csv = |s: &Arc<dyn RowSpool>| {
            let mut out = Vec::new();
            s.csv().unwrap().read_to_end(&mut out).unwrap();
            out
        };
        assert_eq!(read(&file), read(&memory));
        assert_eq!(csv(&file), csv(&memory));
        assert_eq!((file.rows(), file.file_id()), (4, Uuid::from_u128(7)));
        let back = read(&file);
        assert_eq!(
            back[1].product_name.as_deref(),
            Some("Café \"Pilão\", 500 g")
        );
        assert_eq!(back[2].receipt_id, None, "an empty receipt is no receipt");
        assert_eq!(back[3].product_name.as_deref(), Some("linha\nquebrada"));
    }

    /// A writer dropped before `finish` leaves no file behind.
    #[test]
    fn an_abandoned_spool_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = CsvSpooler::new(dir.path()).create(Uuid::nil()).unwrap();
        w.push(&rows()[0]).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
