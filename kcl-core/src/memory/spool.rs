//! The row spool in memory.

use std::io;
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::SalesRow;
use crate::ports::{RowSpool, SpoolWriter, SpooledRow, SpooledRows, Spooler};

/// Spools rows in memory: for the memory backend and tests, where the rows end up
/// in memory anyway. The hosts spool to disk (`kcl_formats::spool::CsvSpooler`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySpooler;

impl Spooler for MemorySpooler {
    fn create(&self, file_id: Uuid) -> io::Result<Box<dyn SpoolWriter>> {
        Ok(Box::new(MemorySpoolWriter {
            file_id,
            rows: Vec::new(),
        }))
    }
}

struct MemorySpoolWriter {
    file_id: Uuid,
    rows: Vec<SpooledRow>,
}

impl SpoolWriter for MemorySpoolWriter {
    fn push(&mut self, row: &SalesRow) -> io::Result<()> {
        self.rows.push(SpooledRow::of(self.file_id, row));
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<Arc<dyn RowSpool>> {
        Ok(Arc::new(MemorySpool {
            file_id: self.file_id,
            rows: self.rows.into(),
        }))
    }
}

#[derive(Debug)]
struct MemorySpool {
    file_id: Uuid,
    rows: Arc<[SpooledRow]>,
}

impl RowSpool for MemorySpool {
    fn file_id(&self) -> Uuid {
        self.file_id
    }

    fn rows(&self) -> u64 {
        self.rows.len() as u64
    }

    fn read(&self) -> io::Result<SpooledRows> {
        let rows = Arc::clone(&self.rows);
        Ok(Box::new((0..rows.len()).map(move |i| Ok(rows[i].clone()))))
    }

    fn csv(&self) -> io::Result<Box<dyn io::Read + Send>> {
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        for r in self.rows.iter() {
            out.write_record([
                r.file_id.to_string(),
                r.line.to_string(),
                r.store_id.clone(),
                r.sale_date.format("%Y-%m-%d").to_string(),
                r.receipt_id.clone().unwrap_or_default(),
                r.sku.clone(),
                r.product_name.clone().unwrap_or_default(),
                r.quantity.to_string(),
                r.unit_price_cents.to_string(),
                r.revenue_cents.to_string(),
                r.tax_cents.to_string(),
            ])?;
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        Ok(Box::new(io::Cursor::new(bytes)))
    }
}
