//! Curated Parquet copies of a load's rows: one file per store and day, written
//! from a [`RowSpool`] in bounded memory, behind core's [`CuratedWriter`] port.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Decimal128Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use kcl_core::domain::{RowSpool, SpooledRow, StoreDay};
use kcl_core::ports::{CuratedError, CuratedPart, CuratedWriter};

/// The most rows in one record batch.
const BATCH_ROWS: usize = 8192;
/// A batch is also written once its text columns hold this many bytes.
const BATCH_TEXT_BYTES: usize = 256 * 1024;
/// The most rows waiting in memory for their partition to complete.
const PENDING_ROWS: usize = 32_768;
/// The most rows in one row group.
const ROW_GROUP_ROWS: usize = 65_536;
/// A row group is also closed once a writer buffers about this many bytes.
const ROW_GROUP_MEMORY: usize = 1 << 20;
/// The data and dictionary page size limits.
const PAGE_BYTES: usize = 256 * 1024;
/// Decimal(18, _) holds absolute values below 10^18.
const DECIMAL_LIMIT: u64 = 1_000_000_000_000_000_000;

/// The Parquet [`CuratedWriter`]: [`write_parquet`] behind the port.
///
/// ```
/// use kcl_core::ports::CuratedWriter;
/// let w = kcl_formats::parquet::ParquetWriter;
/// assert_eq!((w.name(), w.extension()), ("Parquet", "parquet"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ParquetWriter;

impl CuratedWriter for ParquetWriter {
    fn name(&self) -> &'static str {
        "Parquet"
    }

    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn media_type(&self) -> &'static str {
        "application/vnd.apache.parquet"
    }

    fn write(&self, spool: &dyn RowSpool, dir: &Path) -> Result<Vec<CuratedPart>, CuratedError> {
        write_parquet(spool, dir).map_err(CuratedError::from)
    }
}

/// Writes the spool's rows as Parquet into `dir`, one file per (store, day)
/// partition, and returns the parts sorted by `day` (store, then date, as
/// [`StoreDay`] orders).
///
/// Files are named `{file_id}-{n:05}-{store}-{date}.parquet` (`n` numbers the
/// partitions in order of first appearance; characters of the store id outside
/// `A-Z a-z 0-9 _ -` become `_`), so they are unique within `dir`, also for several
/// loads; an existing file of the same name is replaced. Columns: `file_id` (Utf8),
/// `line` (Int64), `store_id` (Utf8), `sale_date` (Date32), `receipt_id` (Utf8,
/// nullable), `sku` (Utf8), `product_name` (Utf8, nullable), `quantity`
/// (Decimal128(18, 3)), `unit_price`, `revenue` (tax included) and `tax`
/// (Decimal128(18, 2)); Snappy
/// compression.
///
/// Two passes over the spool: the first counts each partition's rows; in the
/// second, rows wait in memory until their partition is complete and it is
/// written in one go (a file ordered by day, with stores interleaved, keeps about
/// a day of rows waiting). Past 32,768 waiting rows, the partition with the most
/// waiting rows is given an open writer that takes its rows as they come (each
/// buffering at most one record batch of 8192 rows or 256 KiB of text, and about
/// 1 MiB of encoded row group; row groups hold at most 65,536 rows). Memory is so
/// bounded by the waiting rows and the open writers; a file whose partitions are
/// all spread over its whole length (shuffled) is the worst case.
///
/// `dir` must exist. On an
/// error (reading the spool, writing, a value out of the decimal range) the files
/// written so far are removed.
///
/// ```
/// use chrono::NaiveDate;
/// use kcl_core::domain::{Money, Quantity, SalesRow};
/// use kcl_core::ports::Spooler;
/// use kcl_formats::{parquet::write_parquet, spool::CsvSpooler};
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut spool = CsvSpooler::new(dir.path()).create(uuid::Uuid::nil()).unwrap();
/// for (store, day) in [("S1", 23), ("S2", 23), ("S1", 24), ("S1", 23)] {
///     spool.push(&SalesRow {
///         store_id: store.into(),
///         sale_date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
///         receipt_id: None,
///         sku: "789".into(),
///         product_name: Some("Café 500 g".into()),
///         quantity: Quantity::from_thousandths(1500),
///         unit_price: Money::from_cents(200).unwrap(),
///         total: None,
///         tax_cents: 0,
///         line: 2,
///     }).unwrap();
/// }
/// let spool = spool.finish().unwrap();
/// let out = dir.path().join("parquet");
/// std::fs::create_dir(&out).unwrap();
/// let parts = write_parquet(spool.as_ref(), &out).unwrap();
/// let summary: Vec<_> = parts.iter()
///     .map(|p| (p.day.store_id.as_str(), p.day.date.to_string(), p.rows))
///     .collect();
/// assert_eq!(summary, [
///     ("S1", "2026-11-23".to_string(), 2),
///     ("S1", "2026-11-24".to_string(), 1),
///     ("S2", "2026-11-23".to_string(), 1),
/// ]);
/// assert!(parts.iter().all(|p| p.path.starts_with(&out) && p.path.is_file()));
/// ```
pub fn write_parquet(spool: &dyn RowSpool, dir: &Path) -> io::Result<Vec<CuratedPart>> {
    let mut created = Vec::new();
    match write_parts(spool, dir, &mut created) {
        Ok(mut parts) => {
            parts.sort_by(|a, b| a.day.cmp(&b.day));
            Ok(parts)
        }
        Err(e) => {
            for path in created {
                let _ = fs::remove_file(path);
            }
            Err(e)
        }
    }
}

fn write_parts(
    spool: &dyn RowSpool,
    dir: &Path,
    created: &mut Vec<PathBuf>,
) -> io::Result<Vec<CuratedPart>> {
    let schema = schema();
    let props = properties();
    // Pass 1: the partitions and their row counts.
    let mut partitions = Partitions::default();
    let mut counts: Vec<u64> = Vec::new();
    for row in spool.read()? {
        let n = partitions.index_or_insert(&row?);
        if n == counts.len() {
            counts.push(0);
        }
        counts[n] += 1;
    }
    // Pass 2: rows wait in memory until their partition is complete, then the
    // partition is written in one go. Past PENDING_ROWS waiting rows, the
    // partition with the most waiting rows gets a writer of its own, which takes
    // its rows as they come until it is complete.
    let mut seen = vec![0u64; counts.len()];
    let mut pending: HashMap<usize, Vec<SpooledRow>> = HashMap::new();
    let mut pending_rows = 0usize;
    let mut open: HashMap<usize, PartWriter> = HashMap::new();
    let mut parts = Vec::with_capacity(counts.len());
    let create = |n: usize, created: &mut Vec<PathBuf>| -> io::Result<PartWriter> {
        let day = partitions.days[n].clone();
        let path = dir.join(file_name(spool, n, &day));
        created.push(path.clone());
        PartWriter::create(day, path, &schema, props.clone())
    };
    for row in spool.read()? {
        let row = row?;
        let n = partitions.index(&row).ok_or_else(|| {
            io::Error::other("the spool changed while it was being written as Parquet")
        })?;
        seen[n] += 1;
        let complete = seen[n] == counts[n];
        if let Some(w) = open.get_mut(&n) {
            w.push(&row, &schema)?;
        } else if complete {
            let mut w = create(n, created)?;
            let waiting = pending.remove(&n).unwrap_or_default();
            pending_rows -= waiting.len();
            for r in waiting.iter().chain(std::iter::once(&row)) {
                w.push(r, &schema)?;
            }
            parts.push(w.close(&schema)?);
            continue;
        } else {
            pending.entry(n).or_default().push(row);
            pending_rows += 1;
            if pending_rows > PENDING_ROWS {
                let (&big, _) = pending
                    .iter()
                    .max_by_key(|(_, rows)| rows.len())
                    .expect("rows are pending");
                let waiting = pending.remove(&big).unwrap_or_default();
                pending_rows -= waiting.len();
                let mut w = create(big, created)?;
                for r in &waiting {
                    w.push(r, &schema)?;
                }
                open.insert(big, w);
            }
            continue;
        }
        if complete {
            if let Some(w) = open.remove(&n) {
                parts.push(w.close(&schema)?);
            }
        }
    }
    if !pending.is_empty() || !open.is_empty() {
        return Err(io::Error::other(
            "the spool changed while it was being written as Parquet",
        ));
    }
    Ok(parts)
}

/// The partitions in order of first appearance, and a lookup by store and date
/// that needs no allocation per row.
#[derive(Default)]
struct Partitions {
    days: Vec<StoreDay>,
    by_store: HashMap<String, HashMap<NaiveDate, usize>>,
}

impl Partitions {
    fn index(&self, row: &SpooledRow) -> Option<usize> {
        self.by_store
            .get(row.store_id.as_str())
            .and_then(|dates| dates.get(&row.sale_date))
            .copied()
    }

    fn index_or_insert(&mut self, row: &SpooledRow) -> usize {
        if let Some(n) = self.index(row) {
            return n;
        }
        let n = self.days.len();
        self.days.push(StoreDay {
            store_id: row.store_id.clone(),
            date: row.sale_date,
        });
        self.by_store
            .entry(row.store_id.clone())
            .or_default()
            .insert(row.sale_date, n);
        n
    }
}

fn file_name(spool: &dyn RowSpool, n: usize, day: &StoreDay) -> String {
    let store: String = day
        .store_id
        .chars()
        .take(32)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}-{n:05}-{store}-{}.parquet",
        spool.file_id(),
        day.date.format("%Y-%m-%d")
    )
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("file_id", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("store_id", DataType::Utf8, false),
        Field::new("sale_date", DataType::Date32, false),
        Field::new("receipt_id", DataType::Utf8, true),
        Field::new("sku", DataType::Utf8, false),
        Field::new("product_name", DataType::Utf8, true),
        Field::new("quantity", DataType::Decimal128(18, 3), false),
        Field::new("unit_price", DataType::Decimal128(18, 2), false),
        Field::new("revenue", DataType::Decimal128(18, 2), false),
        Field::new("tax", DataType::Decimal128(18, 2), false),
    ]))
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_size_limit(PAGE_BYTES)
        .set_dictionary_page_size_limit(PAGE_BYTES)
        .build()
}

/// One open partition file and its pending batch.
struct PartWriter {
    day: StoreDay,
    path: PathBuf,
    rows: u64,
    writer: ArrowWriter<File>,
    batch: Batch,
}

impl PartWriter {
    fn create(
        day: StoreDay,
        path: PathBuf,
        schema: &SchemaRef,
        props: WriterProperties,
    ) -> io::Result<Self> {
        let file = File::create(&path)?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(other)?;
        Ok(Self {
            day,
            path,
            rows: 0,
            writer,
            batch: Batch::new()?,
        })
    }

    fn push(&mut self, row: &SpooledRow, schema: &SchemaRef) -> io::Result<()> {
        self.batch.push(row)?;
        self.rows += 1;
        if self.batch.rows >= BATCH_ROWS || self.batch.text_bytes >= BATCH_TEXT_BYTES {
            self.write_batch(schema)?;
        }
        Ok(())
    }

    fn write_batch(&mut self, schema: &SchemaRef) -> io::Result<()> {
        if self.batch.rows == 0 {
            return Ok(());
        }
        let batch = self.batch.finish(schema)?;
        self.writer.write(&batch).map_err(other)?;
        if self.writer.memory_size() >= ROW_GROUP_MEMORY {
            self.writer.flush().map_err(other)?;
        }
        Ok(())
    }

    fn close(mut self, schema: &SchemaRef) -> io::Result<CuratedPart> {
        self.write_batch(schema)?;
        self.writer.close().map_err(other)?;
        Ok(CuratedPart {
            day: self.day,
            path: self.path,
            rows: self.rows,
        })
    }
}

/// Column builders for the rows of one record batch.
struct Batch {
    file_id: StringBuilder,
    line: Int64Builder,
    store_id: StringBuilder,
    sale_date: Date32Builder,
    receipt_id: StringBuilder,
    sku: StringBuilder,
    product_name: StringBuilder,
    quantity: Decimal128Builder,
    unit_price: Decimal128Builder,
    revenue: Decimal128Builder,
    tax: Decimal128Builder,
    rows: usize,
    text_bytes: usize,
}

impl Batch {
    fn new() -> io::Result<Self> {
        let decimal = |scale| {
            Decimal128Builder::new()
                .with_precision_and_scale(18, scale)
                .map_err(other)
        };
        Ok(Self {
            file_id: StringBuilder::new(),
            line: Int64Builder::new(),
            store_id: StringBuilder::new(),
            sale_date: Date32Builder::new(),
            receipt_id: StringBuilder::new(),
            sku: StringBuilder::new(),
            product_name: StringBuilder::new(),
            quantity: decimal(3)?,
            unit_price: decimal(2)?,
            revenue: decimal(2)?,
            tax: decimal(2)?,
            rows: 0,
            text_bytes: 0,
        })
    }

    /// Appends a row; on an error nothing is appended.
    fn push(&mut self, row: &SpooledRow) -> io::Result<()> {
        let line = i64::try_from(row.line).map_err(|_| invalid(row, "line", "too large"))?;
        let days = row
            .sale_date
            .signed_duration_since(NaiveDate::default())
            .num_days();
        let days = i32::try_from(days).map_err(|_| invalid(row, "sale_date", "out of range"))?;
        let quantity = decimal(row, "quantity", row.quantity)?;
        let unit_price = decimal(row, "unit_price", row.unit_price_cents)?;
        let revenue = decimal(row, "revenue", row.revenue_cents)?;
        let tax = decimal(row, "tax", row.tax_cents)?;

        let mut id = uuid::Uuid::encode_buffer();
        let id = row.file_id.hyphenated().encode_lower(&mut id);
        self.file_id.append_value(&*id);
        self.line.append_value(line);
        self.store_id.append_value(&row.store_id);
        self.sale_date.append_value(days);
        self.receipt_id.append_option(row.receipt_id.as_deref());
        self.sku.append_value(&row.sku);
        self.product_name.append_option(row.product_name.as_deref());
        self.quantity.append_value(quantity);
        self.unit_price.append_value(unit_price);
        self.revenue.append_value(revenue);
        self.tax.append_value(tax);
        self.rows += 1;
        self.text_bytes += id.len()
            + row.store_id.len()
            + row.receipt_id.as_deref().map_or(0, str::len)
            + row.sku.len()
            + row.product_name.as_deref().map_or(0, str::len);
        Ok(())
    }

    /// The pending rows as a record batch; the builders start over.
    fn finish(&mut self, schema: &SchemaRef) -> io::Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.file_id.finish()),
            Arc::new(self.line.finish()),
            Arc::new(self.store_id.finish()),
            Arc::new(self.sale_date.finish()),
            Arc::new(self.receipt_id.finish()),
            Arc::new(self.sku.finish()),
            Arc::new(self.product_name.finish()),
            Arc::new(self.quantity.finish()),
            Arc::new(self.unit_price.finish()),
            Arc::new(self.revenue.finish()),
            Arc::new(self.tax.finish()),
        ];
        self.rows = 0;
        self.text_bytes = 0;
        RecordBatch::try_new(schema.clone(), columns).map_err(other)
    }
}

/// A spool integer as a Decimal(18, _) value.
fn decimal(row: &SpooledRow, column: &str, value: i64) -> io::Result<i128> {
    if value.unsigned_abs() < DECIMAL_LIMIT {
        Ok(i128::from(value))
    } else {
        Err(invalid(row, column, "out of the range of Decimal(18)"))
    }
}

fn invalid(row: &SpooledRow, column: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("spool line {}: {column} is {what}", row.line),
    )
}

fn other<E: std::error::Error + Send + Sync + 'static>(e: E) -> io::Error {
    io::Error::other(e)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Int64Type};
    use arrow_array::Array;
    use chrono::NaiveDate;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::LogicalType;
    use uuid::Uuid;

    use super::*;
    use crate::spool::CsvSpooler;
    use kcl_core::domain::{Money, Quantity, SalesRow};
    use kcl_core::ports::Spooler;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn row(store: &str, date: NaiveDate, line: u64) -> SalesRow {
        SalesRow {
            store_id: store.into(),
            sale_date: date,
            receipt_id: Some(format!("R{line}")),
            sku: format!("SKU{}", line % 7),
            product_name: Some(format!("Produto {line}")),
            quantity: Quantity::from_thousandths(1_250),
            unit_price: Money::from_cents(399).unwrap(),
            total: None,
            tax_cents: 0,
            line,
        }
    }

    fn read_all(path: &Path) -> Vec<RecordBatch> {
        let file = File::open(path).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
        batch.column(batch.schema().index_of(name).unwrap())
    }

    #[test]
    fn three_partitions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file_id = Uuid::from_u128(0x1234);
        let mut spool = CsvSpooler::new(dir.path()).create(file_id).unwrap();
        // 20,000 rows of S1 on the 23rd (several batches), interleaved with others.
        let mut line = 1;
        for i in 0..20_000u32 {
            line += 1;
            spool.push(&row("S1", day(23), line)).unwrap();
            if i % 100 == 0 {
                line += 1;
                spool.push(&row("S2", day(23), line)).unwrap();
            }
        }
        line += 1;
        spool
            .push(&SalesRow {
                receipt_id: None,
                product_name: Some("=cmd|' /C calc'!A0".into()),
                quantity: Quantity::from_thousandths(2_500),
                unit_price: Money::from_cents(123_456).unwrap(),
                total: Some(Money::from_cents(308_640).unwrap()),
                tax_cents: 0,
                ..row("S1", day(24), line)
            })
            .unwrap();
        line += 1;
        spool
            .push(&SalesRow {
                product_name: None,
                ..row("S1", day(24), line)
            })
            .unwrap();
        let spool = spool.finish().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();

        let parts = write_parquet(spool.as_ref(), &out).unwrap();

        let summary: Vec<_> = parts
            .iter()
            .map(|p| (p.day.store_id.as_str(), p.day.date, p.rows))
            .collect();
        assert_eq!(
            summary,
            [
                ("S1", day(23), 20_000),
                ("S1", day(24), 2),
                ("S2", day(23), 200)
            ]
        );
        assert_eq!(fs::read_dir(&out).unwrap().count(), 3);
        for part in &parts {
            assert!(part.path.starts_with(&out));
            let name = part.path.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with(&file_id.to_string()), "{name}");
            assert!(name.ends_with(".parquet"), "{name}");
            let batches = read_all(&part.path);
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows as u64, part.rows);
            assert!(batches.iter().all(|b| b.num_rows() <= BATCH_ROWS));
            for b in &batches {
                let stores = column(b, "store_id").as_string::<i32>();
                let dates = column(b, "sale_date").as_primitive::<Date32Type>();
                for i in 0..b.num_rows() {
                    assert_eq!(stores.value(i), part.day.store_id);
                    assert_eq!(dates.value_as_date(i), Some(part.day.date));
                }
            }
        }

        // The schema as specified.
        let batches = read_all(&parts[1].path);
        let schema = batches[0].schema();
        let types: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            [
                ("file_id", DataType::Utf8, false),
                ("line", DataType::Int64, false),
                ("store_id", DataType::Utf8, false),
                ("sale_date", DataType::Date32, false),
                ("receipt_id", DataType::Utf8, true),
                ("sku", DataType::Utf8, false),
                ("product_name", DataType::Utf8, true),
                ("quantity", DataType::Decimal128(18, 3), false),
                ("unit_price", DataType::Decimal128(18, 2), false),
                ("revenue", DataType::Decimal128(18, 2), false),
                ("tax", DataType::Decimal128(18, 2), false),
            ]
        );

        // Parquet logical types, for readers that ignore the Arrow schema.
        let file = File::open(&parts[1].path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let descr = reader.metadata().file_metadata().schema_descr();
        let logical = |name: &str| {
            let column = descr.columns().iter().find(|c| c.name() == name).unwrap();
            column.logical_type_ref().cloned()
        };
        assert_eq!(logical("sale_date"), Some(LogicalType::Date));
        assert_eq!(logical("quantity"), Some(LogicalType::decimal(3, 18)));
        assert_eq!(logical("file_id"), Some(LogicalType::String));
        let compression = reader.metadata().row_group(0).column(0).compression();
        assert!(
            matches!(compression, Compression::SNAPPY),
            "{compression:?}"
        );

        // Values of the S1 / 24th rows.
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let ids = column(b, "file_id").as_string::<i32>();
        assert_eq!(ids.value(0), file_id.to_string());
        let lines = column(b, "line").as_primitive::<Int64Type>();
        assert_eq!(
            (lines.value(0), lines.value(1)),
            (line as i64 - 1, line as i64)
        );
        let receipts = column(b, "receipt_id").as_string::<i32>();
        assert!(receipts.is_null(0));
        assert_eq!(receipts.value(1), format!("R{line}"));
        let names = column(b, "product_name").as_string::<i32>();
        assert_eq!(names.value(0), "=cmd|' /C calc'!A0");
        assert!(names.is_null(1));
        let quantity = column(b, "quantity").as_primitive::<Decimal128Type>();
        assert_eq!(quantity.value(0), 2_500);
        assert_eq!(quantity.value_as_string(0), "2.500");
        let price = column(b, "unit_price").as_primitive::<Decimal128Type>();
        assert_eq!(price.value_as_string(0), "1234.56");
        let revenue = column(b, "revenue").as_primitive::<Decimal128Type>();
        assert_eq!(revenue.value_as_string(0), "3086.40");
        // 1.250 x 3.99 = 4.9875, rounded half up.
        assert_eq!(revenue.value_as_string(1), "4.99");
    }

    #[test]
    fn forty_interleaved_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = CsvSpooler::new(dir.path()).create(Uuid::nil()).unwrap();
        let mut expected = BTreeMap::new();
        let mut line = 1;
        // Rows of the 40 partitions interleaved, with different counts.
        for round in 0..5u64 {
            for p in 0..40u64 {
                if round < 1 + p % 5 {
                    let store = format!("S{}", p % 8);
                    let date = day(1 + (p / 8) as u32);
                    line += 1;
                    spool.push(&row(&store, date, line)).unwrap();
                    *expected.entry((store, date)).or_insert(0u64) += 1;
                }
            }
        }
        let spool = spool.finish().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();

        let parts = write_parquet(spool.as_ref(), &out).unwrap();

        assert_eq!(parts.len(), 40);
        assert_eq!(fs::read_dir(&out).unwrap().count(), 40);
        let got: BTreeMap<_, _> = parts
            .iter()
            .map(|p| ((p.day.store_id.clone(), p.day.date), p.rows))
            .collect();
        assert_eq!(got, expected);
        assert!(parts.windows(2).all(|w| w[0].day < w[1].day));
        for part in &parts {
            let rows: usize = read_all(&part.path).iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows as u64, part.rows);
        }
    }

    #[test]
    fn partitions_spread_over_the_whole_spool_get_open_writers() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = CsvSpooler::new(dir.path()).create(Uuid::nil()).unwrap();
        // Three partitions interleaved from start to end: more rows wait than
        // PENDING_ROWS, so writers are opened before the partitions complete.
        let n = PENDING_ROWS as u64 / 2 + 1000;
        for i in 0..3 * n {
            spool
                .push(&row(&format!("S{}", i % 3), day(1), i + 2))
                .unwrap();
        }
        let spool = spool.finish().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let parts = write_parquet(spool.as_ref(), &out).unwrap();
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert_eq!(part.rows, n);
            let rows: usize = read_all(&part.path).iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows as u64, n);
        }
    }

    #[test]
    fn empty_spool_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let spool = CsvSpooler::new(dir.path())
            .create(Uuid::nil())
            .unwrap()
            .finish()
            .unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        assert_eq!(write_parquet(spool.as_ref(), &out).unwrap(), []);
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn out_of_range_values_fail_and_leave_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = CsvSpooler::new(dir.path()).create(Uuid::nil()).unwrap();
        spool.push(&row("S1", day(23), 2)).unwrap();
        spool
            .push(&SalesRow {
                total: Some(Money::from_cents(99_000_000_000).unwrap()),
                tax_cents: 0,
                quantity: Quantity::from_thousandths(i64::MAX),
                ..row("S2", day(23), 3)
            })
            .unwrap();
        let spool = spool.finish().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let err = write_parquet(spool.as_ref(), &out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("quantity"), "{err}");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn missing_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = CsvSpooler::new(dir.path()).create(Uuid::nil()).unwrap();
        spool.push(&row("S1", day(23), 2)).unwrap();
        let spool = spool.finish().unwrap();
        assert!(write_parquet(spool.as_ref(), &dir.path().join("missing")).is_err());
    }
}
