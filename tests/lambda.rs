//! The SQS Lambda handler, invoked with fixture events against the AWS emulator
//! (`KCL_TEST_AWS_ENDPOINT`): S3 for images, SQS for the tasks, DynamoDB for
//! statuses and the audit log. Skipped when unset unless `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(all(feature = "aws", feature = "lambda", feature = "media"))]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use kcl::aws::{
    emulator_config, DynamoAuditLog, DynamoStatusStore, DynamoTable, S3BlobStore, S3Location,
    SqsQueue,
};
use kcl::domain::{BookDraft, Isbn};
use kcl::lambda::handle_sqs_event;
use kcl::memory::{MemoryCache, MemoryCatalog};
use kcl::ports::{
    Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError, ProcessingState, QueueConfig, StatusStore,
    SystemClock, TaskQueue, UuidV7Ids,
};
use kcl::services::{Ports, Services, Settings};
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
    let Ok(endpoint) = std::env::var("KCL_TEST_AWS_ENDPOINT") else {
        assert!(
            std::env::var("KCL_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "KCL_TEST_AWS_ENDPOINT is not set and KCL_TEST_REQUIRE_ALL=1"
        );
        println!("skipped: KCL_TEST_AWS_ENDPOINT is not set");
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
    let services = Services::with_settings(
        Ports {
            books: catalog.clone(),
            rentals: catalog,
            audit: Arc::new(DynamoAuditLog::new(table)),
            cache: Arc::new(MemoryCache::default()),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
            probes: Vec::new(),
            blobs: blobs.clone(),
            tasks: queue.clone(),
            status: status.clone(),
            thumbnailer: Some(Arc::new(kcl::media::ImageThumbnailer::default())),
            jobs: Arc::new(kcl::memory::MemoryJobs::default()),
            ocr_tasks: Arc::new(kcl::memory::MemoryQueue::default()),
            ocr: None,
            sales: Arc::new(kcl::memory::MemorySales::default()),
            sales_days: Arc::new(kcl::memory::MemorySalesDays::default()),
            reports: None,
        },
        &Settings::default(),
    );
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
    let event = serde_json::from_value(json!({"Records": [record("flaky", &body, 5)]})).unwrap();
    let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    let st = status.get(&again.key).await.unwrap().unwrap();
    assert_eq!(st.status, ProcessingState::Error);
    assert!(st.message.contains("storage outage"), "{}", st.message);
    // The response serializes the way Lambda expects.
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(wire["batchItemFailures"][0]["itemIdentifier"], "flaky");
}
