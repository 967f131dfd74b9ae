//! The sales service and its format ports: what it does with a curated-copy or
//! report writer, and without one.

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::NaiveDate;

use crate::domain::{IngestPolicy, ReportLine, ReportMeta, RowSpool, StoreDay};
use crate::memory::MemoryBackend;
use crate::ports::{
    BlobKey, CuratedError, CuratedPart, CuratedWriter, ErrorKind, PortError, ReportError,
    ReportWriter,
};
use crate::services::{IngestOptions, IngestStatus, ReportFormat, ServiceError, Services};

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

/// A memory store that loads live: it gathers the rows sent while the file is
/// read, waits for the verdict, then loads them as a finished spool; and counts how
/// loads ended.
struct LiveMemory {
    inner: Arc<crate::memory::MemorySales>,
    ended: Mutex<Vec<&'static str>>,
}

#[async_trait::async_trait]
impl crate::ports::SalesRepo for LiveMemory {
    async fn load(
        &self,
        file: &crate::domain::SalesFile,
        rows: &dyn RowSpool,
        event: &crate::domain::AuditEvent,
    ) -> Result<crate::domain::LoadOutcome, crate::ports::SalesRepoError> {
        self.ended.lock().unwrap().push("spooled");
        self.inner.load(file, rows, event).await
    }

    fn loads_live(&self) -> bool {
        true
    }

    async fn load_live(
        &self,
        file: &crate::domain::SalesFile,
        mut live: crate::ports::LiveRows,
    ) -> Result<Option<crate::domain::LoadOutcome>, crate::ports::SalesRepoError> {
        use crate::ports::Spooler;
        assert_eq!(file.rows, 0, "the rows are not known before reading");
        let mut spool = crate::memory::MemorySpooler.create(file.id).unwrap();
        while let Some(batch) = live.rows.recv().await {
            for r in &batch {
                spool.push(r).unwrap();
            }
        }
        let spool = spool.finish().unwrap();
        match live.verdict.await {
            Ok(crate::ports::LiveVerdict::Commit { file: done, event }) => {
                assert_eq!((done.id, &done.sha256), (file.id, &file.sha256));
                assert_eq!(done.rows, spool.rows(), "every row was delivered");
                self.ended.lock().unwrap().push("committed");
                self.inner
                    .load(&done, spool.as_ref(), &event)
                    .await
                    .map(Some)
            }
            _ => {
                self.ended.lock().unwrap().push("abandoned");
                Ok(None)
            }
        }
    }

    async fn current_file(
        &self,
        name: &str,
    ) -> Result<Option<crate::domain::SalesFile>, crate::ports::SalesRepoError> {
        self.inner.current_file(name).await
    }

    async fn day_totals(
        &self,
        days: &[StoreDay],
    ) -> Result<Vec<crate::domain::DayTotals>, crate::ports::SalesRepoError> {
        self.inner.day_totals(days).await
    }

    async fn summary(
        &self,
        q: &crate::domain::SummaryQuery,
    ) -> Result<Vec<crate::domain::SummaryRow>, crate::ports::SalesRepoError> {
        self.inner.summary(q).await
    }

    async fn report_lines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReportLine>, crate::ports::SalesRepoError> {
        self.inner.report_lines(from, to, store, limit).await
    }

    async fn stock(
        &self,
        sku: &str,
    ) -> Result<Option<crate::domain::StockLevel>, crate::ports::SalesRepoError> {
        self.inner.stock(sku).await
    }

    async fn change_stock(
        &self,
        sku: &str,
        change: crate::domain::StockChange,
        now: chrono::DateTime<chrono::Utc>,
        event: &crate::domain::AuditEvent,
    ) -> Result<crate::domain::StockLevel, crate::ports::SalesRepoError> {
        self.inner.change_stock(sku, change, now, event).await
    }
}

/// A store that loads while the file is read reports exactly what one that loads a
/// finished spool reports, file after file (lenient, strict, duplicates,
/// corrections, unusable files), and ends up with the same stock and totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_load_reports_and_stores_what_a_spooled_load_does() {
    let plain = MemoryBackend::new();
    let live_mem = MemoryBackend::new();
    let live = Arc::new(LiveMemory {
        inner: live_mem.sales.clone(),
        ended: Mutex::new(Vec::new()),
    });
    let mut ports = live_mem.ports();
    ports.sales = live.clone();
    let (a, b) = (plain.services(), Services::new(ports));
    let dir = tempfile::tempdir().unwrap();
    let header = "store_id,sale_date,sku,quantity,unit_price\n";
    let good = format!("{header}S1,2026-11-20,A,1,2.00\nS2,2026-11-20,B,2,1.00\n");
    let one_bad = format!("{header}S1,2026-11-20,A,3,2.00\nS1,2026-02-31,A,1,1.00\n");
    let steps: Vec<(&str, String, IngestPolicy)> = vec![
        ("f.csv", good.clone(), IngestPolicy::Lenient),
        ("f.csv", good.clone(), IngestPolicy::Lenient),
        ("copy.csv", good.clone(), IngestPolicy::Strict),
        ("g.csv", one_bad.clone(), IngestPolicy::Strict),
        ("g.csv", one_bad.clone(), IngestPolicy::Lenient),
        (
            "f.csv",
            format!("{header}S1,2026-11-20,A,5,2.00\n"),
            IngestPolicy::Lenient,
        ),
        (
            "h.csv",
            "store_id,sku\nS1,A\n".into(),
            IngestPolicy::Lenient,
        ),
        (
            "i.csv",
            format!("{header}S1,2026-02-31,A,1,1.00\n"),
            IngestPolicy::Lenient,
        ),
    ];
    for (i, (name, content, policy)) in steps.into_iter().enumerate() {
        let path = dir.path().join(format!("{i}.csv"));
        std::fs::write(&path, content).unwrap();
        let opts = || IngestOptions {
            policy,
            progress: None,
            format: None,
        };
        let want = a.sales.ingest_path(name, &path, opts()).await.unwrap();
        let got = b.sales.ingest_path(name, &path, opts()).await.unwrap();
        let same = |r: &crate::services::IngestReport| {
            (
                r.status,
                r.rows_total,
                r.rows_loaded,
                r.rows_rejected,
                r.errors.clone(),
                r.file_error.clone(),
                r.duplicate_of.is_some(),
                r.replaced.is_some(),
                r.rejected_key.is_some(),
                r.days_updated,
                r.warnings.clone(),
            )
        };
        assert_eq!(same(&got), same(&want), "step {i} ({name})");
    }
    assert_eq!(
        *live.ended.lock().unwrap(),
        [
            "committed", // f.csv
            "committed", // f.csv again: a duplicate
            "committed", // the same content under another name
            "abandoned", // strict, one rejected row
            "committed", // lenient
            "committed", // a correction of f.csv
            "abandoned", // a missing column
            "abandoned", // no valid row
        ],
        "every file went the live way"
    );
    for sku in ["A", "B"] {
        assert_eq!(
            a.sales.stock(sku).await.unwrap().quantity,
            b.sales.stock(sku).await.unwrap().quantity,
            "stock of {sku}"
        );
    }
    for store in ["S1", "S2"] {
        assert_eq!(
            a.sales.daily(store, day(1), day(30)).await.unwrap(),
            b.sales.daily(store, day(1), day(30)).await.unwrap(),
            "daily totals of {store}"
        );
    }
}

/// Scheduled reports: the due day's report of each store that sold, in CSV and PDF,
/// under fixed names; once per schedule and day, also between two services (two
/// servers) on the same stores; the next day's once its time has come.
#[tokio::test]
async fn scheduled_reports_run_once_per_day() {
    use chrono::TimeZone;
    let backend = MemoryBackend::new();
    let clock = Arc::new(crate::ports::ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 5, 59, 0)
            .unwrap(),
    ));
    let mut ports = backend.ports();
    ports.clock = clock.clone();
    ports.pdf_reports = Some(Arc::new(FakePdf));
    let mut settings = crate::services::Settings::default();
    settings.sales.schedule =
        Some(crate::domain::ReportSchedule::parse("daily 06:00", "UTC").unwrap());
    let s = Services::with_settings(ports.clone(), &settings);
    let other = Services::with_settings(ports, &settings);
    assert_eq!(
        ingest(&s, "sales/incoming/f.csv").await.status,
        IngestStatus::Loaded
    );

    // 05:59 on the 22nd: the 20th's reports are due (the 21st's at 06:00).
    let (a, b) = tokio::join!(
        s.sales.run_scheduled_reports(),
        other.sales.run_scheduled_reports()
    );
    let runs: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(runs.len(), 1, "one of two servers runs the day: {runs:?}");
    let run = &runs[0];
    assert_eq!(run.day, day(20));
    let keys: Vec<&str> = run.reports.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "reports/daily-2026-11-20-S1.csv",
            "reports/daily-2026-11-20-S1.pdf",
            "reports/daily-2026-11-20-S2.csv",
            "reports/daily-2026-11-20-S2.pdf"
        ]
    );
    let csv = s.sales.report(keys[0]).await.unwrap();
    let text = String::from_utf8(csv.data.to_vec()).unwrap();
    assert!(text.contains("2026-11-20,S1,A"), "{text}");
    assert!(
        !text.contains("S2") && !text.contains("2026-11-21"),
        "{text}"
    );
    assert!(s.sales.run_scheduled_reports().await.unwrap().is_none());
    let last = other.sales.last_scheduled_run().await.unwrap().unwrap();
    assert_eq!((last.day, last.reports.len()), (day(20), 4));

    // 06:00: the 21st's, S1 only.
    clock.advance(chrono::Duration::minutes(1));
    let run = s.sales.run_scheduled_reports().await.unwrap().expect("due");
    assert_eq!(run.day, day(21));
    assert_eq!(run.reports.len(), 2);
    assert_eq!(run.reports[0].key, "reports/daily-2026-11-21-S1.csv");
    assert!(other.sales.run_scheduled_reports().await.unwrap().is_none());
    // A day without sales: a run without reports.
    clock.advance(chrono::Duration::days(2));
    let run = s.sales.run_scheduled_reports().await.unwrap().expect("due");
    assert_eq!((run.day, run.reports.len()), (day(23), 0));
    // Without a schedule: nothing.
    assert!(MemoryBackend::new()
        .services()
        .sales
        .run_scheduled_reports()
        .await
        .unwrap()
        .is_none());
}

/// A run that fails (the reports store is down) gives its day back: the next call
/// writes the same reports under the same names, without waiting for the lease.
#[tokio::test]
async fn a_failed_scheduled_run_is_given_back() {
    use chrono::TimeZone;
    let backend = MemoryBackend::new();
    let clock = Arc::new(crate::ports::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 21, 7, 0, 0).unwrap(),
    ));
    let reports = Arc::new(Flaky::default());
    let mut ports = backend.ports();
    ports.clock = clock.clone();
    ports.reports = Some(reports.clone());
    let mut settings = crate::services::Settings::default();
    settings.sales.schedule =
        Some(crate::domain::ReportSchedule::parse("daily 06:00", "UTC").unwrap());
    let s = Services::with_settings(ports, &settings);
    assert_eq!(
        ingest(&s, "sales/incoming/f.csv").await.status,
        IngestStatus::Loaded
    );
    reports
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = s.sales.run_scheduled_reports().await.unwrap_err();
    assert_eq!(err.code(), "unavailable", "{err}");
    reports
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let run = s
        .sales
        .run_scheduled_reports()
        .await
        .unwrap()
        .expect("given back");
    assert_eq!(run.day, day(20));
    assert_eq!(run.reports[0].key, "reports/daily-2026-11-20-S1.csv");
    let last = s.sales.last_scheduled_run().await.unwrap().unwrap();
    assert_eq!(last.attempts, 2);
}

/// A reports store that refuses writes while `down`.
#[derive(Default)]
struct Flaky {
    inner: crate::memory::MemoryBlobStore,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl crate::ports::BlobStore for Flaky {
    async fn put(
        &self,
        key: &BlobKey,
        data: Bytes,
        content_type: &str,
    ) -> Result<crate::ports::BlobMeta, crate::ports::BlobStoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::ports::BlobStoreError::Unavailable("down".into()));
        }
        self.inner.put(key, data, content_type).await
    }
    async fn get(&self, key: &BlobKey) -> Result<crate::ports::Blob, crate::ports::BlobStoreError> {
        self.inner.get(key).await
    }
    async fn head(
        &self,
        key: &BlobKey,
    ) -> Result<crate::ports::BlobMeta, crate::ports::BlobStoreError> {
        self.inner.head(key).await
    }
    async fn delete(&self, key: &BlobKey) -> Result<(), crate::ports::BlobStoreError> {
        self.inner.delete(key).await
    }
    async fn list(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<crate::ports::BlobMeta>, crate::ports::BlobStoreError> {
        self.inner.list(prefix, limit).await
    }
}

/// Single sales: recorded once per key, refused whole on a bad line, and replaced
/// by a file of their store-day so nothing is counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sales_are_idempotent_and_a_file_of_their_day_replaces_them() {
    use crate::services::SaleLine;
    let backend = MemoryBackend::new();
    let s = backend.services();
    let sale = |sku: &str, q: &str| SaleLine::new("S1", "2026-11-20", sku, q, "2.00");
    let first = s
        .sales
        .record_sales("k-1", &[sale("A", "3")])
        .await
        .unwrap();
    assert_eq!(first.status, IngestStatus::Loaded);
    assert_eq!(first.name, "sales/single/S1/2026-11-20/k-1");
    assert!(
        first.curated_keys.is_empty(),
        "no Parquet copy of single sales"
    );
    s.sales
        .record_sales("k-2", &[sale("A", "1"), sale("B", "1")])
        .await
        .unwrap();
    let again = s
        .sales
        .record_sales("k-1", &[sale("A", "3")])
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.duplicate_of),
        (IngestStatus::Duplicate, first.file_id)
    );
    let stock = |sku: &'static str| {
        let s = s.clone();
        async move { s.sales.stock(sku).await.unwrap().quantity.to_string() }
    };
    assert_eq!(stock("A").await, "-4.000", "the retry counted once");
    let totals = s.sales.daily("S1", day(20), day(20)).await.unwrap();
    assert_eq!((totals[0].lines, totals[0].revenue_cents), (3, 1000));

    // Refusals: nothing is stored.
    let e = s
        .sales
        .record_sales("k-1", &[sale("A", "4")])
        .await
        .unwrap_err();
    let ServiceError::Invalid(v) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (v.errors[0].field.as_str(), v.errors[0].code),
        ("Idempotency-Key", "idempotency-key-reused")
    );
    let bad = [
        sale("A", "1"),
        SaleLine::new("S1", "31/02/2026", "A", "1", "2.00"),
    ];
    let ServiceError::Invalid(v) = s.sales.record_sales("k-3", &bad).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (v.errors[0].field.as_str(), v.errors[0].code),
        ("sales[1].sale_date", "bad-date")
    );
    let mixed = [
        sale("A", "1"),
        SaleLine::new("S2", "2026-11-20", "A", "1", "2.00"),
    ];
    let ServiceError::Invalid(v) = s.sales.record_sales("k-4", &mixed).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(v.errors[0].code, "mixed-store-day");
    for key in ["", "a b", &"k".repeat(65)] {
        assert!(
            s.sales.record_sales(key, &[sale("A", "1")]).await.is_err(),
            "{key:?}"
        );
    }
    assert!(s.sales.record_sales("k-5", &[]).await.is_err());
    assert_eq!(stock("A").await, "-4.000", "no refused batch moved stock");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(&path, FILE).unwrap();
    let e = s
        .sales
        .ingest_path(
            "sales/single/S1/2026-11-20/x",
            &path,
            IngestOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        "validation-failed",
        "a file may not take a single sales' name"
    );

    // The day's file: S1 on the 20th sold 1 A; the single sales of that day go.
    let file = ingest(&s, "sales/incoming/day.csv").await;
    assert_eq!(file.single_sales_replaced, 2, "{file:?}");
    assert_eq!(
        stock("A").await,
        "-2.000",
        "the file's two A only (S1 and the 21st)"
    );
    assert_eq!(stock("B").await, "-2.000", "S2's B only");
    let totals = s.sales.daily("S1", day(20), day(20)).await.unwrap();
    assert_eq!((totals[0].lines, totals[0].revenue_cents), (1, 200));
    let left = crate::ports::BlobStore::list(backend.blobs.as_ref(), "sales/single/", 10);
    assert!(
        left.await.unwrap().is_empty(),
        "the batches' objects are gone"
    );
    let e = s
        .sales
        .record_sales("k-1", &[sale("A", "3")])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "sales-replaced");
    // Sales after the file count on top of it: the same file again (a repeated
    // event) leaves them; a corrected file replaces them.
    s.sales
        .record_sales("k-6", &[sale("A", "1")])
        .await
        .unwrap();
    assert_eq!(stock("A").await, "-3.000");
    let again = ingest(&s, "sales/incoming/day.csv").await;
    assert_eq!(
        (again.status, again.single_sales_replaced),
        (IngestStatus::Duplicate, 0)
    );
    assert_eq!(stock("A").await, "-3.000");
    let corrected = dir.path().join("corrected.csv");
    std::fs::write(&corrected, format!("{FILE}S1,2026-11-20,C,1,1.00\n")).unwrap();
    let report = s
        .sales
        .ingest_path(
            "sales/incoming/day.csv",
            &corrected,
            IngestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.status, report.single_sales_replaced),
        (IngestStatus::Loaded, 1)
    );
    assert_eq!(stock("A").await, "-2.000");
}
