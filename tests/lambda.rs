//! The Lambda handlers, invoked with fixture events against the AWS emulator
//! (`KCL_TEST_AWS_ENDPOINT`): the SQS handler with S3 for images, SQS for the tasks,
//! DynamoDB for statuses and the audit log; the S3 sales-ingest handler with
//! PostgreSQL (`KCL_TEST_POSTGRES_URL`), S3 and DynamoDB. Skipped when unset unless
//! `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(all(feature = "aws", feature = "lambda", feature = "media"))]

use kcl_aws::testkit::TestDatabase;
use kcl_core::testkit::services;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::NaiveDate;
use kcl::aws::{
    emulator_config, DynamoAuditLog, DynamoSalesDays, DynamoStatusStore, DynamoTable, S3BlobStore,
    S3Location, SqsQueue,
};
use kcl::domain::{BookDraft, Isbn, SummaryQuery};
use kcl::lambda::lambda_runtime::{Context, Diagnostic, LambdaEvent};
use kcl::lambda::{handle_s3_ingest_event, handle_sqs_event, RecordStatus, S3IngestError};
use kcl::memory::{MemoryCache, MemoryCatalog};
use kcl::ports::{
    Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError, ProcessingState, QueueConfig, SalesDays,
    StatusStore, SystemClock, TaskQueue, UuidV7Ids,
};
use kcl::services::{Services, Settings};
use kcl::{Config, Kcl, ServiceError};
use serde_json::{json, Value};

/// A blob store that can be switched to "unavailable" (a storage outage).
struct Flaky {
    inner: S3BlobStore,
    down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), BlobStoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(BlobStoreError::Unavailable("storage outage (test)".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl BlobStore for Flaky {
    async fn put(&self, k: &BlobKey, d: Bytes, ct: &str) -> Result<BlobMeta, BlobStoreError> {
        self.check()?;
        self.inner.put(k, d, ct).await
    }
    async fn get(&self, k: &BlobKey) -> Result<Blob, BlobStoreError> {
        self.check()?;
        self.inner.get(k).await
    }
    async fn head(&self, k: &BlobKey) -> Result<BlobMeta, BlobStoreError> {
        self.inner.head(k).await
    }
    async fn delete(&self, k: &BlobKey) -> Result<(), BlobStoreError> {
        self.inner.delete(k).await
    }
    async fn list(&self, p: &str, l: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        self.inner.list(p, l).await
    }
    fn object_location(&self, k: &BlobKey) -> (String, String) {
        self.inner.object_location(k)
    }
    fn key_of(&self, b: &str, k: &str) -> Option<BlobKey> {
        self.inner.key_of(b, k)
    }
}

fn jpeg(w: u32, h: u32) -> Bytes {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    Bytes::from(out.into_inner())
}

fn record(id: &str, body: &str, receives: u32) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("rh-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": receives.to_string(), "SentTimestamp": "1700000000000"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kcl-tasks",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_handler_reports_partial_batch_failures() {
    let Some(endpoint) = services::aws_endpoint() else {
        return;
    };
    let sdk = emulator_config(&endpoint).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let s3 = S3BlobStore::new(
        &sdk,
        &S3Location::parse(&format!("s3://kcl-lambda-{tag}/media")).unwrap(),
    );
    s3.provision().await.unwrap();
    let queue = Arc::new(
        SqsQueue::provision(&sdk, &format!("kcl-lambda-{tag}"), QueueConfig::default())
            .await
            .unwrap(),
    );
    let table = DynamoTable::new(&sdk, &format!("kcl-lambda-{tag}")).unwrap();
    table.provision().await.unwrap();
    let status = Arc::new(DynamoStatusStore::new(table.clone()));
    let blobs = Arc::new(Flaky {
        inner: s3.clone(),
        down: false.into(),
    });
    let catalog = Arc::new(MemoryCatalog::default());
    let mut ports = kcl::memory::MemoryBackend::new().ports();
    ports.books = catalog.clone();
    ports.rentals = catalog.clone();
    ports.outbox = catalog;
    ports.audit = Arc::new(DynamoAuditLog::new(table));
    ports.cache = Arc::new(MemoryCache::default());
    ports.clock = Arc::new(SystemClock);
    ports.ids = Arc::new(UuidV7Ids);
    ports.probes = Vec::new();
    ports.blobs = blobs.clone();
    ports.tasks = queue.clone();
    ports.status = status.clone();
    ports.thumbnailer = Some(Arc::new(kcl::media::ImageThumbnailer::default()));
    ports.jobs = Arc::new(kcl::memory::MemoryJobs::default());
    ports.ocr_tasks = Arc::new(kcl::memory::MemoryQueue::default());
    ports.ocr = None;
    ports.sales = Arc::new(kcl::memory::MemorySales::default());
    ports.sales_days = Arc::new(kcl::memory::MemorySalesDays::default());
    ports.reports = None;
    ports.curated = None;
    ports.pdf_reports = None;
    ports.spools = Arc::new(kcl::memory::MemorySpooler);
    ports.ended_sessions = Arc::new(kcl_core::memory::MemoryEndedSessions::default());
    ports.replication = Arc::new(kcl_core::ports::NoReplicas);
    let services = Services::with_settings(ports, &Settings::default());
    let book = services
        .catalog
        .create(
            BookDraft::builder(
                "Vidas Secas",
                "Graciliano Ramos",
                Isbn::synthetic(7).as_str(),
            )
            .year(1938)
            .build()
            .unwrap(),
        )
        .await
        .unwrap();

    // 1. An upload through the service: its real message, as SQS delivers it.
    let accepted = services
        .covers
        .upload(book.id, jpeg(900, 600))
        .await
        .unwrap();
    let delivered = queue.receive(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(delivered.len(), 1);
    let task_body = delivered[0].body.clone();
    assert!(
        task_body.contains(&format!("kcl-lambda-{tag}")),
        "bucket in the task: {task_body}"
    );
    assert!(
        task_body.contains("media/uploads/"),
        "object key with the prefix: {task_body}"
    );

    // 2. An object dropped straight into the bucket, announced by an S3 event.
    let dropped = BlobKey::parse(&format!("uploads/{}/scan-01.jpg", book.id)).unwrap();
    s3.put(&dropped, jpeg(400, 800), "image/jpeg")
        .await
        .unwrap();
    let s3_event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": format!("kcl-lambda-{tag}")},
               "object": {"key": format!("media/uploads/{}/scan-01.jpg", book.id), "size": 1}}
    }]})
    .to_string();

    let event = serde_json::from_value(json!({"Records": [
        record("task", &task_body, 1),
        record("poison", "{\"not\": \"a task\"", 1),
        record("test-event", r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#, 1),
        record("s3-event", &s3_event, 1),
    ]}))
    .unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "done, poison and test events are all deleted with the batch"
    );
    let st = status.get(&accepted.key).await.unwrap().unwrap();
    assert_eq!(st.status, ProcessingState::Done, "{st:?}");
    let st = status.get(dropped.as_str()).await.unwrap().unwrap();
    assert_eq!(
        st.status,
        ProcessingState::Done,
        "the dropped object too: {st:?}"
    );
    let cover = services.catalog.get(book.id).await.unwrap().cover.unwrap();
    assert_eq!(
        cover.original,
        dropped.as_str(),
        "the newest (dropped) image is the cover"
    );
    assert!(cover.thumbnail.is_some());

    // 3. A storage outage: the record is reported for a retry; on its last allowed
    //    receive it is recorded as ERROR and still reported (to the dead-letter queue).
    let again = services
        .covers
        .upload(book.id, jpeg(300, 300))
        .await
        .unwrap();
    let body = queue.receive(1, Duration::from_secs(5)).await.unwrap()[0]
        .body
        .clone();
    blobs.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let event = serde_json::from_value(json!({"Records": [record("flaky", &body, 1)]})).unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(ids, ["flaky"], "a transient failure is retried");
    assert_eq!(
        status.get(&again.key).await.unwrap().unwrap().status,
        ProcessingState::Pending,
        "not failed yet"
    );
    // Receive 4 of 5 is the last attempt: the failure is recorded with its reason.
    let event = serde_json::from_value(json!({"Records": [record("flaky", &body, 4)]})).unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let st = status.get(&again.key).await.unwrap().unwrap();
    assert_eq!(st.status, ProcessingState::Error);
    assert!(st.message.contains("storage outage"), "{}", st.message);
    // The response serializes the way Lambda expects.
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(wire["batchItemFailures"][0]["itemIdentifier"], "flaky");
    // Receive 5 only records (nothing runs): the first reason stays, and the record is
    // reported again so the redrive policy dead-letters it.
    let event = serde_json::from_value(json!({"Records": [record("flaky", &body, 5)]})).unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let st = status.get(&again.key).await.unwrap().unwrap();
    assert!(st.message.contains("storage outage"), "{}", st.message);

    // 4. Every attempt of a task ended without an answer (a Lambda timeout, a crash):
    //    its last receive records the failure, without running it, even with the
    //    storage back.
    blobs.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let lost = services
        .covers
        .upload(book.id, jpeg(200, 200))
        .await
        .unwrap();
    let body = queue.receive(1, Duration::from_secs(5)).await.unwrap()[0]
        .body
        .clone();
    let event = serde_json::from_value(json!({"Records": [record("lost", &body, 5)]})).unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "to the dead-letter queue"
    );
    let st = status.get(&lost.key).await.unwrap().unwrap();
    assert_eq!(st.status, ProcessingState::Error, "{st:?}");
    assert!(st.message.contains("no attempt finished"), "{}", st.message);
}

// ---- Sales files: the S3 ingest handler -------------------------------------

const SALES_CSV: &str = "loja;data;codigo;quantidade;preco_unitario\n\
                         S1;20/11/2026;789;2;1,50\n\
                         S1;21/11/2026;789;1,5;10,00\n\
                         S1;21/11/2026;790;1;3,00\n\
                         S1;31/02/2026;789;1;1,50\n";

/// A fixture event from `tests/fixtures/lambda/`, with `{{bucket}}` replaced.
fn s3_event(fixture: &str, bucket: &str) -> LambdaEvent<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lambda")
        .join(fixture);
    let text = std::fs::read_to_string(&path).unwrap();
    let payload = serde_json::from_str(&text.replace("{{bucket}}", bucket)).unwrap();
    LambdaEvent::new(payload, Context::default())
}

/// `Kcl::open` reads the AWS configuration from the standard environment, the way
/// a deployed Lambda does: point it at the emulator (the same region, endpoint and
/// test credentials `emulator_config` uses), once, before this test's first request.
fn aws_env(endpoint: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ENDPOINT_URL", endpoint);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    });
}

/// Sales files created in S3 and announced by S3 notifications (a real-shaped one,
/// and moto-shaped ones without `userIdentity`/`requestParameters`), ingested by the
/// Lambda handler on KCL opened from its configuration: PostgreSQL (a fresh
/// database), S3 and DynamoDB (audit log and daily totals) on the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_ingest_handler_loads_sales_files() {
    let Some([endpoint, admin_url]) =
        services::vars([services::AWS_ENDPOINT, services::POSTGRES_URL])
    else {
        return;
    };
    aws_env(&endpoint);
    let db = TestDatabase::create_on(&admin_url).await;
    let db_url = db.url().to_owned();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let bucket = format!("kcl-ingest-{tag}");
    let table = format!("kcl-ingest-{tag}");
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<String, String> = [
        ("KCL_DATABASE_URL", db_url.as_str()),
        ("KCL_BLOBS", &format!("s3://{bucket}")),
        ("KCL_AUDIT", &format!("dynamodb://{table}")),
        ("KCL_AUTO_PROVISION", "1"),
        ("KCL_DATA_DIR", &dir.path().display().to_string()),
        ("KCL_SPOOL_DIR", &dir.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let sales = kcl.services.sales.clone();
    let ingest = |event| handle_s3_ingest_event(&sales, kcl.blobs.as_ref(), event);
    let put_csv = |key: &str, csv: &'static [u8]| {
        let (blobs, key) = (kcl.blobs.clone(), BlobKey::parse(key).unwrap());
        async move {
            blobs
                .put(&key, Bytes::from_static(csv), "text/csv")
                .await
                .unwrap()
        }
    };

    // 1. A file created under sales/incoming/, its key URL-encoded in the event
    //    (`store+1%2B.csv` is `store 1+.csv`): loaded, the bad row reported.
    let name = "sales/incoming/store 1+.csv";
    put_csv(name, SALES_CSV.as_bytes()).await;
    let summary = ingest(s3_event("s3_sales_created.json", &bucket))
        .await
        .expect("ingested");
    assert_eq!(summary.records.len(), 1);
    let first = &summary.records[0];
    assert_eq!(
        (first.status, first.key.as_str(), first.bucket.as_str()),
        (RecordStatus::Loaded, name, bucket.as_str()),
        "{first:?}"
    );
    assert_eq!((first.rows_loaded, first.rows_rejected), (3, 1));
    assert!(first.file_id.is_some() && first.file_error.is_none());
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    let wire = serde_json::to_value(&summary).unwrap();
    assert_eq!(wire["records"][0]["status"], "loaded", "{wire}");
    assert_eq!(wire["records"][0]["rows_loaded"], 3);
    assert_eq!(wire["records"][0]["duplicate_of"], Value::Null);

    // The rows are in PostgreSQL...
    let stock = sales.stock("789").await.unwrap();
    assert_eq!(stock.quantity.to_string(), "-3.500");
    let per_day = sales
        .summary(&SummaryQuery {
            store: Some("S1".into()),
            ..SummaryQuery::default()
        })
        .await
        .unwrap();
    let lines: Vec<(&str, u64)> = per_day.iter().map(|r| (r.key.as_str(), r.lines)).collect();
    assert_eq!(lines, [("2026-11-20", 1), ("2026-11-21", 2)]);
    // ...and the daily totals in the DynamoDB table of KCL_AUDIT.
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    );
    let daily = sales.daily("S1", from, to).await.unwrap();
    let direct =
        DynamoSalesDays::new(DynamoTable::new(&emulator_config(&endpoint).await, &table).unwrap())
            .range("S1", from, to)
            .await
            .unwrap();
    assert_eq!(daily, direct, "the service reads the DynamoDB items");
    let totals: Vec<(u64, i64, i64)> = direct
        .iter()
        .map(|d| (d.lines, d.quantity.thousandths(), d.revenue_cents))
        .collect();
    assert_eq!(totals, [(1, 2000, 300), (2, 2500, 1800)]);

    // 2. The same event again (S3 delivers at least once): a duplicate.
    let again = ingest(s3_event("s3_sales_created.json", &bucket))
        .await
        .expect("ingested again");
    let again = &again.records[0];
    assert_eq!(again.status, RecordStatus::Duplicate, "{again:?}");
    assert_eq!(again.duplicate_of, first.file_id);
    assert_eq!(again.rows_loaded, 0);
    assert_eq!(
        sales.stock("789").await.unwrap().quantity.to_string(),
        "-3.500",
        "nothing loaded twice"
    );

    // 3. Records that are not KCL's sales files, a missing object, a file refused by
    //    its content, and an unreadable key: reported, none an error.
    put_csv("sales/incoming/not-a-sales-file.csv", b"hello, not sales\n").await;
    let mixed = ingest(s3_event("s3_sales_mixed_moto.json", &bucket))
        .await
        .expect("no retry");
    let got: Vec<(RecordStatus, &str)> = mixed
        .records
        .iter()
        .map(|r| (r.status, r.reason.as_deref().unwrap_or("")))
        .collect();
    let statuses: Vec<RecordStatus> = got.iter().map(|g| g.0).collect();
    use RecordStatus::*;
    assert_eq!(
        statuses,
        [Skipped, Skipped, Skipped, Skipped, Failed, Rejected, Failed],
        "{got:#?}"
    );
    assert!(
        got[0].1.contains("not under sales/incoming/"),
        "{}",
        got[0].1
    );
    assert!(
        got[1].1.contains(&bucket),
        "names KCL's bucket: {}",
        got[1].1
    );
    assert!(got[2].1.contains("ObjectRemoved:Delete"), "{}", got[2].1);
    assert!(got[3].1.contains("folder"), "{}", got[3].1);
    assert!(got[4].1.contains("does not exist"), "{}", got[4].1);
    assert_eq!(
        mixed.records[5].file_error.as_deref(),
        Some("missing-column"),
        "a refused file is reported with its code"
    );
    assert!(got[6].1.contains("URL-encoded"), "{}", got[6].1);
    assert_eq!(mixed.records[6].key, "sales/incoming/bad%zzkey.csv");
    assert_eq!(
        sales.stock("789").await.unwrap().quantity.to_string(),
        "-3.500"
    );

    // 4. Something that is not an S3 event fails the invocation.
    let err = ingest(LambdaEvent::new(
        json!({"hello": "world"}),
        Context::default(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, S3IngestError::NotAnS3Event(_)), "{err}");

    kcl.close().await;
    db.drop_now().await;
}

/// A blob store whose reads fail as during a storage outage.
struct Outage(kcl::memory::MemoryBlobStore);

#[async_trait]
impl BlobStore for Outage {
    async fn put(&self, k: &BlobKey, d: Bytes, ct: &str) -> Result<BlobMeta, BlobStoreError> {
        self.0.put(k, d, ct).await
    }
    async fn get(&self, _: &BlobKey) -> Result<Blob, BlobStoreError> {
        Err(BlobStoreError::Unavailable("storage outage (test)".into()))
    }
    async fn head(&self, _: &BlobKey) -> Result<BlobMeta, BlobStoreError> {
        Err(BlobStoreError::Unavailable("storage outage (test)".into()))
    }
    async fn delete(&self, k: &BlobKey) -> Result<(), BlobStoreError> {
        self.0.delete(k).await
    }
    async fn list(&self, p: &str, l: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        self.0.list(p, l).await
    }
}

/// A transient failure fails the invocation, so that Lambda retries the event.
#[tokio::test]
async fn s3_ingest_handler_fails_the_invocation_on_transient_failures() {
    let backend = kcl::memory::MemoryBackend::new();
    let mut ports = backend.ports();
    let blobs: Arc<dyn BlobStore> = Arc::new(Outage(kcl::memory::MemoryBlobStore::default()));
    ports.blobs = blobs.clone();
    let services = Services::new(ports);
    let event = LambdaEvent::new(
        json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "local"}, "object": {"key": "sales/incoming/s1.csv"}}}]}),
        Context::default(),
    );
    let err = handle_s3_ingest_event(&services.sales, blobs.as_ref(), event)
        .await
        .unwrap_err();
    let S3IngestError::Retry { key, source } = &err else {
        panic!("expected a retry: {err}")
    };
    assert_eq!(key, "sales/incoming/s1.csv");
    assert!(matches!(source, ServiceError::Unavailable(_)), "{source}");
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "SalesIngestRetry");
    assert!(
        diagnostic.error_message.contains("storage outage"),
        "{}",
        diagnostic.error_message
    );
}

/// The report function as deployed (EventBridge Scheduler invokes it; here its
/// handler is called): KCL opened from the function's configuration on PostgreSQL,
/// S3 (a reports bucket of its own) and DynamoDB. Two invocations at once (the
/// scheduler delivers at least once) write yesterday's reports once; a third finds
/// the day done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_handler_writes_yesterdays_reports_once() {
    use kcl::lambda::handle_scheduled_reports;
    let Some([endpoint, admin_url]) =
        services::vars([services::AWS_ENDPOINT, services::POSTGRES_URL])
    else {
        return;
    };
    aws_env(&endpoint);
    let db = TestDatabase::create_on(&admin_url).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<String, String> = [
        ("KCL_DATABASE_URL", db.url()),
        ("KCL_BLOBS", &format!("s3://kcl-media-{tag}")),
        ("KCL_REPORTS", &format!("s3://kcl-reports-{tag}")),
        ("KCL_AUDIT", &format!("dynamodb://kcl-reports-{tag}")),
        ("KCL_AUTO_PROVISION", "1"),
        ("KCL_DATA_DIR", &dir.path().display().to_string()),
        ("KCL_SPOOL_DIR", &dir.path().display().to_string()),
        ("KCL_REPORT_SCHEDULE", "daily 00:00"),
        ("KCL_REPORT_TZ", "UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let sales = kcl.services.sales.clone();
    let yesterday = chrono::Utc::now().date_naive().pred_opt().unwrap();
    let csv = dir.path().join("yesterday.csv");
    std::fs::write(
        &csv,
        format!(
            "store_id,sale_date,sku,quantity,unit_price\n\
             S1,{yesterday},A,1,2.00\nS2,{yesterday},B,2,1.50\n"
        ),
    )
    .unwrap();
    let loaded = sales
        .ingest_path("yesterday.csv", &csv, Default::default())
        .await
        .unwrap();
    assert_eq!(loaded.rows_loaded, 2, "{loaded:?}");

    let invoke = || {
        let payload = json!({"source": "aws.scheduler"});
        handle_scheduled_reports(&sales, LambdaEvent::new(payload, Context::default()))
    };
    let (a, b) = tokio::join!(invoke(), invoke());
    let (a, b) = (a.expect("first"), b.expect("second"));
    let ran: Vec<_> = [&a, &b].into_iter().filter(|r| r.ran).collect();
    assert_eq!(ran.len(), 1, "{a:?} {b:?}");
    assert_eq!(ran[0].day, Some(yesterday));
    // A CSV per store, and a PDF with the `pdf` feature.
    let formats: &[&str] = if cfg!(feature = "pdf") {
        &["csv", "pdf"]
    } else {
        &["csv"]
    };
    let want: Vec<String> = ["S1", "S2"]
        .iter()
        .flat_map(|s| {
            formats
                .iter()
                .map(move |f| format!("reports/daily-{yesterday}-{s}.{f}"))
        })
        .collect();
    assert_eq!(ran[0].reports, want);
    let s2 = format!("reports/daily-{yesterday}-S2.csv");
    let report = sales.report(&s2).await.unwrap();
    let text = String::from_utf8(report.data.to_vec()).unwrap();
    assert!(text.contains(&format!("{yesterday},S2,B")), "{text}");
    let wire = serde_json::to_value(ran[0]).unwrap();
    assert_eq!(wire["ran"], true, "{wire}");
    let third = invoke().await.expect("third");
    assert!(!third.ran && third.reports.is_empty(), "{third:?}");
    kcl.close().await;
    db.drop_now().await;
}

/// Sales files that arrive in a bucket of their own (`KCL_SALES_INCOMING`, the
/// supermarket design's `supermarket-sales-data`): the ingest handler loads an object
/// created under its prefix, whatever its key, recorded under that key; an object of
/// the same bucket outside the prefix is skipped, naming why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_ingest_handler_reads_a_bucket_of_its_own() {
    use kcl::lambda::handle_s3_ingest_event_from;
    let Some([endpoint, admin_url]) =
        services::vars([services::AWS_ENDPOINT, services::POSTGRES_URL])
    else {
        return;
    };
    aws_env(&endpoint);
    let db = TestDatabase::create_on(&admin_url).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let incoming_bucket = format!("kcl-sales-data-{tag}");
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<String, String> = [
        ("KCL_DATABASE_URL", db.url()),
        ("KCL_BLOBS", &format!("s3://kcl-media-{tag}")),
        (
            "KCL_SALES_INCOMING",
            &format!("s3://{incoming_bucket}/incoming"),
        ),
        ("KCL_AUDIT", &format!("dynamodb://kcl-incoming-{tag}")),
        ("KCL_AUTO_PROVISION", "1"),
        ("KCL_DATA_DIR", &dir.path().display().to_string()),
        ("KCL_SPOOL_DIR", &dir.path().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let incoming = kcl.sales_incoming.clone().expect("the incoming bucket");
    incoming
        .put(
            &BlobKey::parse("2026-11/loja 1.csv").unwrap(),
            Bytes::from_static(SALES_CSV.as_bytes()),
            "text/csv",
        )
        .await
        .unwrap();
    let event = |key: &str| {
        LambdaEvent::new(
            json!({"Records": [{
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": incoming_bucket}, "object": {"key": key}}
            }]}),
            Context::default(),
        )
    };
    let sales = &kcl.services.sales;
    let done = handle_s3_ingest_event_from(
        sales,
        kcl.blobs.as_ref(),
        Some(incoming.as_ref()),
        event("incoming/2026-11/loja+1.csv"),
    )
    .await
    .expect("ingested");
    let r = &done.records[0];
    assert_eq!(r.status, RecordStatus::Loaded, "{r:?}");
    assert_eq!(
        (r.bucket.as_str(), r.key.as_str()),
        (incoming_bucket.as_str(), "incoming/2026-11/loja 1.csv")
    );
    assert_eq!((r.rows_loaded, r.rows_rejected), (3, 1));
    let file = sales
        .history("incoming/2026-11/loja 1.csv", 10)
        .await
        .unwrap();
    assert_eq!(file.len(), 1, "recorded under the object's key");
    let outside = handle_s3_ingest_event_from(
        sales,
        kcl.blobs.as_ref(),
        Some(incoming.as_ref()),
        event("elsewhere/x.csv"),
    )
    .await
    .expect("handled");
    let r = &outside.records[0];
    assert_eq!(r.status, RecordStatus::Skipped, "{r:?}");
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("not in KCL's blob store"),
        "{r:?}"
    );
    // Without the incoming store, the same event is not KCL's.
    let without = handle_s3_ingest_event(
        sales,
        kcl.blobs.as_ref(),
        event("incoming/2026-11/loja+1.csv"),
    )
    .await
    .expect("handled");
    assert_eq!(without.records[0].status, RecordStatus::Skipped);
    kcl.close().await;
    db.drop_now().await;
}

/// A point-of-sale export dropped under a prefix that `KCL_SALES_PROFILES` names is
/// read with that profile's columns, date order and tax rate by the S3 trigger;
/// the daily totals it leaves in DynamoDB keep the tax. A file outside the prefix
/// is read as KCL's own format (and refused: its columns are not KCL's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_ingest_handler_reads_exports_through_their_profile() {
    let Some([endpoint, admin_url]) =
        services::vars([services::AWS_ENDPOINT, services::POSTGRES_URL])
    else {
        return;
    };
    aws_env(&endpoint);
    let db = TestDatabase::create_on(&admin_url).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(
        &profiles,
        r#"
[profiles.branch-exports]
prefix = "sales/incoming/branches/"
date_order = "mdy"
tax_rate = 5

[profiles.branch-exports.columns]
store_id = "Branch"
sku = "Product line"
product_name = "Product line"
sale_date = "Date"
receipt_id = "Invoice ID"
"#,
    )
    .unwrap();
    let bucket = format!("kcl-media-{tag}");
    let vars: HashMap<String, String> = [
        ("KCL_DATABASE_URL", db.url()),
        ("KCL_BLOBS", &format!("s3://{bucket}")),
        ("KCL_AUDIT", &format!("dynamodb://kcl-profiles-{tag}")),
        ("KCL_AUTO_PROVISION", "1"),
        ("KCL_DATA_DIR", &dir.path().display().to_string()),
        ("KCL_SALES_PROFILES", &profiles.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let export = "Invoice ID,Branch,City,Product line,Unit price,Quantity,Tax 5%,Total,Date,Time\n\
        750-67-8428,A,Yangon,Health and beauty,74.69,7,26.1415,548.9715,1/5/2019,13:08\n\
        123-19-1176,A,Yangon,Health and beauty,58.22,8,23.288,489.048,1/5/2019,20:33\n";
    for key in ["sales/incoming/branches/jan.csv", "sales/incoming/jan.csv"] {
        kcl.blobs
            .put(
                &BlobKey::parse(key).unwrap(),
                Bytes::from_static(export.as_bytes()),
                "text/csv",
            )
            .await
            .unwrap();
    }
    let event = |key: &str| {
        LambdaEvent::new(
            json!({"Records": [{
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}}
            }]}),
            Context::default(),
        )
    };
    let sales = &kcl.services.sales;
    let done = handle_s3_ingest_event(
        sales,
        kcl.blobs.as_ref(),
        event("sales/incoming/branches/jan.csv"),
    )
    .await
    .expect("ingested");
    let r = &done.records[0];
    assert_eq!(r.status, RecordStatus::Loaded, "{r:?}");
    assert_eq!((r.rows_loaded, r.rows_rejected), (2, 0), "{r:?}");
    assert_eq!(r.profile.as_deref(), Some("branch-exports"));
    let day = NaiveDate::from_ymd_opt(2019, 1, 5).unwrap();
    let days = sales.daily("A", day, day).await.unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    // 548.97 + 489.05, of which 26.14 + 23.29 tax.
    assert_eq!((days[0].revenue_cents, days[0].tax_cents), (103_802, 4_943));
    let outside =
        handle_s3_ingest_event(sales, kcl.blobs.as_ref(), event("sales/incoming/jan.csv"))
            .await
            .expect("handled");
    let r = &outside.records[0];
    assert_eq!(r.status, RecordStatus::Rejected, "{r:?}");
    assert_eq!(
        (r.file_error.as_deref(), r.profile.as_deref()),
        (Some("missing-column"), None)
    );
    kcl.close().await;
    db.drop_now().await;
}
