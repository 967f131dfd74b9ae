//! The blob, queue, audit, status and daily sales totals kits on S3, SQS and DynamoDB, against an AWS
//! emulator (the moto server) at `KCL_TEST_AWS_ENDPOINT`, for example
//! `http://127.0.0.1:5599`; skipped when unset unless `KCL_TEST_REQUIRE_ALL=1`.
//!
//! Every test makes its own bucket, queues or table with a random name.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use bytes::Bytes;
use kcl_aws::{
    emulator_config, DynamoAuditLog, DynamoSalesDays, DynamoStatusStore, DynamoTable, S3BlobStore,
    S3Location, SqsQueue,
};
use kcl_core::domain::{DayTotals, Quantity};
use kcl_core::ports::{BlobKey, BlobStore, HealthProbe, QueueConfig, SalesDays, SalesRepoError};
use kcl_core::testkit;

async fn sdk() -> Option<SdkConfig> {
    let endpoint = testkit::services::aws_endpoint()?;
    Some(emulator_config(&endpoint).await)
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn bucket(sdk: &SdkConfig, prefix: &str) -> S3BlobStore {
    let loc = S3Location::parse(&format!("s3://{}{prefix}", unique("kcl-test"))).expect("location");
    let store = S3BlobStore::new(sdk, &loc);
    store.provision().await.expect("create bucket");
    store
}

#[tokio::test]
async fn s3_blob_store_kit() {
    let Some(sdk) = sdk().await else { return };
    for prefix in ["", "/tenant-a/media"] {
        let store = bucket(&sdk, prefix).await;
        testkit::blob_store::run(&store).await;
        assert_eq!(store.check().await.ok(), Some(()), "the probe answers");
        assert_eq!(HealthProbe::check(&store).await, Ok(()));
    }
}

#[tokio::test]
async fn s3_streams_presigns_and_refuses_missing_buckets() {
    let Some(sdk) = sdk().await else { return };
    let store = bucket(&sdk, "/p").await;
    // A 12 MiB file goes up from disk and comes back as a stream.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.bin");
    let data: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &data).expect("write");
    let key = BlobKey::parse("uploads/big.bin").expect("key");
    let meta = store
        .put_file(&key, &path, "application/octet-stream")
        .await
        .expect("put_file");
    assert_eq!(meta.size, data.len() as u64);
    let (meta, body) = store.get_stream(&key).await.expect("get_stream");
    assert_eq!(meta.size, data.len() as u64);
    let mut reader = body.into_async_read();
    let mut back = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut back)
        .await
        .expect("read");
    assert!(back == data, "streamed bytes round-trip");
    // The port's file methods stream too (the sales ingest uses them).
    let copy = dir.path().join("copy.bin");
    let meta = BlobStore::get_to_file(&store, &key, &copy)
        .await
        .expect("get_to_file");
    assert_eq!(meta.size, data.len() as u64);
    assert!(
        std::fs::read(&copy).expect("read copy") == data,
        "copied to disk"
    );
    let key2 = BlobKey::parse("uploads/big2.bin").expect("key");
    BlobStore::put_file(&store, &key2, &copy, "application/octet-stream")
        .await
        .expect("port put_file");
    assert_eq!(
        store.head(&key2).await.expect("head").size,
        data.len() as u64
    );
    assert!(matches!(
        BlobStore::get_to_file(&store, &BlobKey::parse("uploads/none").unwrap(), &copy).await,
        Err(kcl_core::ports::BlobStoreError::NotFound(_))
    ));
    assert_eq!(
        store.object_key(&key),
        "p/uploads/big.bin",
        "prefix applied"
    );
    assert_eq!(store.blob_key("p/uploads/big.bin"), Some(key.clone()));
    assert_eq!(store.blob_key("other/uploads/big.bin"), None);

    // A presigned GET works with a plain HTTP client, no credentials.
    let small = BlobKey::parse("covers/a.png").expect("key");
    store
        .put(&small, Bytes::from_static(b"\x89PNG..."), "image/png")
        .await
        .expect("put");
    let url = store
        .presigned_get(&small, Duration::from_secs(60))
        .await
        .expect("presign")
        .expect("S3 presigns");
    assert!(url.contains("X-Amz-Signature"), "{url}");
    let (status, body) = http_get(&url).await;
    assert_eq!(status, 200, "presigned GET answers 200");
    assert!(body.ends_with(b"\x89PNG..."), "and the object's bytes");

    // A bucket that does not exist is an error that names it.
    let missing = S3BlobStore::new(
        &sdk,
        &S3Location::parse("s3://kcl-no-such-bucket-x").unwrap(),
    );
    let err = missing.check().await.unwrap_err().to_string();
    assert!(err.contains("kcl-no-such-bucket-x"), "{err}");
}

/// A minimal HTTP/1.0 GET over a TCP socket (the test needs no HTTP client crate).
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut sock = tokio::net::TcpStream::connect(host).await.expect("connect");
    sock.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.expect("read");
    let status = String::from_utf8_lossy(&buf[9..12])
        .parse()
        .expect("status");
    (status, buf)
}

#[tokio::test]
async fn sqs_queue_kit() {
    let Some(sdk) = sdk().await else { return };
    let q = SqsQueue::provision(&sdk, &unique("kcl-kit"), testkit::task_queue::CONFIG)
        .await
        .expect("provision");
    assert_eq!(
        q.config(),
        testkit::task_queue::CONFIG,
        "attributes read back"
    );
    testkit::task_queue::run(&q).await;
    assert_eq!(HealthProbe::check(&q).await, Ok(()));
}

#[tokio::test]
async fn sqs_open_refuses_queues_it_cannot_use() {
    let Some(sdk) = sdk().await else { return };
    let err = SqsQueue::open(&sdk, "sqs://kcl-no-such-queue")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("kcl-no-such-queue"), "{err}");
    // A queue without a dead-letter queue would redeliver a poison message forever.
    let name = unique("kcl-nodlq");
    aws_sdk_sqs::Client::new(&sdk)
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create");
    let err = SqsQueue::open(&sdk, &name).await.unwrap_err().to_string();
    assert!(err.contains("redrive"), "{err}");
    // Provisioning fixes it, and opening by URL works too.
    let q = SqsQueue::provision(&sdk, &name, QueueConfig::default())
        .await
        .expect("provision an existing queue");
    let by_url = SqsQueue::open(&sdk, q.url()).await.expect("open by URL");
    assert_eq!(by_url.config(), QueueConfig::default());
    let err = SqsQueue::open(&sdk, "jobs.fifo")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("FIFO"), "{err}");
}

async fn table(sdk: &SdkConfig) -> DynamoTable {
    let t = DynamoTable::new(sdk, &format!("dynamodb://{}", unique("kcl-test"))).expect("name");
    t.provision().await.expect("create table");
    t
}

#[tokio::test]
async fn dynamodb_audit_log_kit() {
    let Some(sdk) = sdk().await else { return };
    let t = table(&sdk).await;
    testkit::audit_log::run(&DynamoAuditLog::new(t.clone())).await;
    assert_eq!(HealthProbe::check(&t).await, Ok(()));
}

/// A table made before audit searches (no `by-action` index): refused by the check
/// a server runs at start, with the index named; provisioning adds the index, and
/// searches then find the events appended from then on.
#[tokio::test]
async fn provisioning_adds_the_audit_index_to_an_older_table() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let Some(sdk) = sdk().await else { return };
    let name = unique("kcl-old");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("an older table");
    let t = DynamoTable::new(&sdk, &name).expect("name");
    t.check().await.expect("its key is right");
    let err = t.check_audit_index().await.unwrap_err().to_string();
    assert!(
        err.contains(kcl_aws::AUDIT_INDEX) && err.contains("data-plane.yml"),
        "{err}"
    );
    t.provision().await.expect("add the index");
    t.check_audit_index().await.expect("the index is there");
    t.provision()
        .await
        .expect("provisioning again changes nothing");
    testkit::audit_log::search_across_entities(&DynamoAuditLog::new(t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_status_store_kit() {
    let Some(sdk) = sdk().await else { return };
    let t = table(&sdk).await;
    testkit::status_store::run(Arc::new(DynamoStatusStore::new(t))).await;
}

#[tokio::test]
async fn dynamodb_sales_days_kit() {
    let Some(sdk) = sdk().await else { return };
    let t = table(&sdk).await;
    let days = DynamoSalesDays::new(t);
    testkit::sales_repo::run_days(&days).await;

    // Many batches (25 items each): 400 days of one store in one put, with a
    // repeated day (the last value wins), then read back in date order.
    let store = unique("S");
    let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let total = |i: u32, lines: u64| DayTotals {
        store_id: store.clone(),
        date: first + chrono::Days::new(i.into()),
        lines,
        quantity: Quantity::from_thousandths(i64::from(i) * 1500),
        revenue_cents: i64::from(i) * 199,
        tax_cents: 0,
    };
    let mut batch: Vec<DayTotals> = (0..400).map(|i| total(i, 1 + u64::from(i))).collect();
    batch.push(total(7, 70));
    days.put(&batch).await.expect("a large put");
    let got = days
        .range(&store, first, first + chrono::Days::new(1000))
        .await
        .expect("range");
    assert_eq!(got.len(), 400);
    assert!(got.windows(2).all(|w| w[0].date < w[1].date), "date order");
    assert_eq!(got[7], total(7, 70), "the last write of a day wins");
    assert_eq!(got[399], total(399, 400));
    // Dates outside the keyed years: clamped in reads, refused in writes.
    let all = days
        .range(&store, chrono::NaiveDate::MIN, chrono::NaiveDate::MAX)
        .await
        .expect("range over every date");
    assert_eq!(all.len(), 400);
    let far = DayTotals {
        date: chrono::NaiveDate::from_ymd_opt(12000, 1, 1).unwrap(),
        ..total(1, 1)
    };
    assert!(matches!(
        days.put(&[far]).await,
        Err(SalesRepoError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn dynamodb_refuses_bad_and_missing_tables() {
    let Some(sdk) = sdk().await else { return };
    assert!(DynamoTable::new(&sdk, "dynamodb://a").is_err());
    assert!(DynamoTable::new(&sdk, "has space").is_err());
    let missing = DynamoTable::new(&sdk, "kcl-no-such-table").expect("name");
    let err = missing.check().await.unwrap_err().to_string();
    assert!(err.contains("kcl-no-such-table"), "{err}");
}
