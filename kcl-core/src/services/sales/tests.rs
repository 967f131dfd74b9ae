//! The sales service and its format ports: what it does with a curated-copy or
//! report writer, and without one.

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::NaiveDate;

use crate::domain::{ReportLine, ReportMeta, RowSpool, StoreDay};
use crate::memory::MemoryBackend;
use crate::ports::{
    BlobKey, CuratedError, CuratedPart, CuratedWriter, ErrorKind, PortError, ReportError,
    ReportWriter,
};
use crate::services::{IngestOptions, IngestStatus, ReportFormat, Services};

const FILE: &str = "store_id,sale_date,sku,quantity,unit_price\n\
                    S1,2026-11-20,A,1,2.00\nS2,2026-11-20,B,2,1.00\nS1,2026-11-21,A,1,2.00\n";

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

async fn ingest(s: &Services, name: &str) -> crate::services::IngestReport {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(&path, FILE).unwrap();
    s.sales
        .ingest_path(name, &path, IngestOptions::default())
        .await
        .unwrap()
}

/// Writes one text file per store and day, naming its rows; or fails.
#[derive(Default)]
struct TextCopies {
    fail: Option<fn() -> CuratedError>,
    calls: Mutex<u32>,
}

impl CuratedWriter for TextCopies {
    fn name(&self) -> &'static str {
        "Text"
    }
    fn extension(&self) -> &'static str {
        "txt"
    }
    fn media_type(&self) -> &'static str {
        "text/plain"
    }
    fn write(&self, spool: &dyn RowSpool, dir: &Path) -> Result<Vec<CuratedPart>, CuratedError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(fail) = self.fail {
            return Err(fail());
        }
        let mut parts: Vec<CuratedPart> = Vec::new();
        for row in spool.read()? {
            let row = row?;
            let day = StoreDay {
                store_id: row.store_id.clone(),
                date: row.sale_date,
            };
            match parts.iter_mut().find(|p| p.day == day) {
                Some(p) => p.rows += 1,
                None => parts.push(CuratedPart {
                    path: dir.join(format!("{}-{}.txt", day.store_id, day.date)),
                    day,
                    rows: 1,
                }),
            }
        }
        parts.sort_by(|a, b| a.day.cmp(&b.day));
        for p in &parts {
            std::fs::write(&p.path, format!("{} rows", p.rows))?;
        }
        Ok(parts)
    }
}

struct FakePdf;

impl ReportWriter for FakePdf {
    fn extension(&self) -> &'static str {
        "pdf"
    }
    fn media_type(&self) -> &'static str {
        "application/pdf"
    }
    fn render(&self, meta: &ReportMeta, lines: &[ReportLine]) -> Result<Bytes, ReportError> {
        Ok(Bytes::from(format!(
            "%PDF-fake {} to {}: {} lines",
            meta.from,
            meta.to,
            lines.len()
        )))
    }
}

#[tokio::test]
async fn without_writers_no_copies_and_pdf_is_not_enabled() {
    let s = MemoryBackend::new().services();
    let report = ingest(&s, "sales/incoming/f.csv").await;
    assert_eq!(report.status, IngestStatus::Loaded);
    assert!(report.curated_keys.is_empty(), "{report:?}");
    assert!(report.warnings.is_empty(), "{report:?}");
    let err = s
        .sales
        .write_report(day(1), day(30), None, ReportFormat::Pdf)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-enabled", "{err}");
    assert!(err.to_string().contains("`pdf` feature"), "{err}");
    // CSV is core's own.
    let csv = s
        .sales
        .write_report(day(1), day(30), Some("S1"), ReportFormat::Csv)
        .await
        .unwrap();
    assert_eq!((csv.format, csv.lines), ("csv", 2));
    assert!(csv
        .key
        .starts_with("reports/sales-2026-11-01-2026-11-30-S1-"));
    let blob = s.sales.report(&csv.key).await.unwrap();
    assert_eq!(blob.meta.content_type, "text/csv; charset=utf-8");
    assert!(blob.data.starts_with(b"date,store_id,sku"));
}

#[tokio::test]
async fn the_writers_in_ports_write_copies_and_reports() {
    let backend = MemoryBackend::new();
    let copies = Arc::new(TextCopies::default());
    let mut ports = backend.ports();
    ports.curated = Some(copies.clone());
    ports.pdf_reports = Some(Arc::new(FakePdf));
    let s = Services::new(ports);
    let report = ingest(&s, "sales/incoming/Loja 1.csv").await;
    assert_eq!(
        report.curated_keys,
        [
            "sales/curated/store=S1/date=2026-11-20/Loja_1.txt",
            "sales/curated/store=S1/date=2026-11-21/Loja_1.txt",
            "sales/curated/store=S2/date=2026-11-20/Loja_1.txt",
        ]
    );
    let key = BlobKey::parse(&report.curated_keys[0]).unwrap();
    let blob = crate::ports::BlobStore::get(backend.blobs.as_ref(), &key)
        .await
        .unwrap();
    assert_eq!(
        (blob.meta.content_type.as_str(), &blob.data[..]),
        ("text/plain", &b"1 rows"[..])
    );
    // The same file again: its copies are there, nothing is written.
    let again = ingest(&s, "sales/incoming/Loja 1.csv").await;
    assert_eq!(again.status, IngestStatus::Duplicate);
    assert_eq!(*copies.calls.lock().unwrap(), 1);

    let pdf = s
        .sales
        .write_report(day(1), day(30), None, ReportFormat::Pdf)
        .await
        .unwrap();
    assert_eq!((pdf.format, pdf.lines), ("pdf", 3));
    assert!(pdf.key.ends_with(".pdf"), "{}", pdf.key);
    let blob = s.sales.report(&pdf.key).await.unwrap();
    assert_eq!(blob.meta.content_type, "application/pdf");
    assert_eq!(
        &blob.data[..],
        b"%PDF-fake 2026-11-01 to 2026-11-30: 3 lines"
    );
}

#[tokio::test]
async fn a_failing_curated_writer_is_a_warning_and_settings_can_turn_copies_off() {
    let backend = MemoryBackend::new();
    let mut ports = backend.ports();
    ports.curated = Some(Arc::new(TextCopies {
        fail: Some(|| CuratedError::from(std::io::Error::other("disk on fire"))),
        ..TextCopies::default()
    }));
    let s = Services::new(ports.clone());
    let report = ingest(&s, "a.csv").await;
    assert_eq!(report.status, IngestStatus::Loaded);
    assert!(report.curated_keys.is_empty());
    assert_eq!(report.warnings, ["Text copy not written: disk on fire"]);

    let copies = Arc::new(TextCopies::default());
    ports.curated = Some(copies.clone());
    let mut settings = crate::services::Settings::default();
    settings.sales.curated = false;
    let s = Services::with_settings(ports, &settings);
    let report = ingest(&s, "b.csv").await;
    assert!(report.curated_keys.is_empty() && report.warnings.is_empty());
    assert_eq!(*copies.calls.lock().unwrap(), 0);
}

#[test]
fn format_errors_have_kinds() {
    let full = CuratedError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
    assert_eq!(full.kind(), ErrorKind::Unavailable);
    let bad = CuratedError::from(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "quantity out of range",
    ));
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        CuratedError::from(std::io::Error::other("x")).kind(),
        ErrorKind::Internal
    );
    let e = crate::services::ServiceError::from(ReportError::Internal("broken".into()));
    assert_eq!(e.code(), "internal");
}
