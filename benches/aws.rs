//! One blob put/get and one queue send/receive/ack round trip on S3 and SQS (the moto
//! emulator at `KCL_BENCH_AWS_ENDPOINT`, for example `http://127.0.0.1:5599`), beside
//! the embedded adapters (files, SQLite queue) measured in the same run.
//!
//! ```sh
//! KCL_BENCH_AWS_ENDPOINT=http://127.0.0.1:5599 cargo bench --features aws --bench aws
//! ```
//!
//! The emulator is not AWS: these figures are the client's and the emulator's cost on
//! loopback, a reference only. Without the variable only the embedded side runs.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kcl::ports::{BlobKey, BlobStore, QueueConfig, TaskQueue};
use tokio::runtime::Runtime;

fn blob_round_trip(c: &mut Criterion, rt: &Runtime, name: &str, store: Arc<dyn BlobStore>) {
    let mut g = c.benchmark_group("blob put+get");
    for size in [1024usize, 256 * 1024] {
        let data = Bytes::from(vec![7u8; size]);
        let key = BlobKey::parse(&format!("bench/{size}.bin")).unwrap();
        g.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
            b.to_async(rt).iter(|| async {
                store
                    .put(&key, data.clone(), "application/octet-stream")
                    .await
                    .unwrap();
                assert_eq!(store.get(&key).await.unwrap().data.len(), size);
            })
        });
    }
    g.finish();
}

fn queue_round_trip(c: &mut Criterion, rt: &Runtime, name: &str, q: Arc<dyn TaskQueue>) {
    let mut g = c.benchmark_group("queue send+receive+ack");
    g.bench_function(name, |b| {
        b.to_async(rt).iter(|| async {
            q.send(r#"{"bucket":"b","key":"uploads/1/a.jpg"}"#)
                .await
                .unwrap();
            let got = q.receive(1, Duration::from_secs(5)).await.unwrap();
            q.ack(&got[0].receipt).await.unwrap();
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (files, sqlite) = rt.block_on(async {
        let files = kcl::local::FsBlobStore::open(dir.path().join("blobs"))
            .await
            .unwrap();
        let db = kcl::local::SqliteStore::open(&dir.path().join("kcl.db"))
            .await
            .unwrap();
        let q = kcl::local::SqliteQueue::new(&db, "bench", QueueConfig::default());
        (files, q)
    });
    blob_round_trip(c, &rt, "files", Arc::new(files));
    queue_round_trip(c, &rt, "sqlite", Arc::new(sqlite));

    let Ok(endpoint) = std::env::var("KCL_BENCH_AWS_ENDPOINT") else {
        eprintln!("KCL_BENCH_AWS_ENDPOINT is not set: S3 and SQS skipped");
        return;
    };
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let (s3, sqs) = rt.block_on(async {
        let sdk = kcl::aws::emulator_config(&endpoint).await;
        let s3 = kcl::aws::S3BlobStore::new(
            &sdk,
            &kcl::aws::S3Location::parse(&format!("s3://kcl-bench-{tag}")).unwrap(),
        );
        s3.provision().await.unwrap();
        let sqs = kcl::aws::SqsQueue::provision(
            &sdk,
            &format!("kcl-bench-{tag}"),
            QueueConfig::default(),
        )
        .await
        .unwrap();
        (s3, sqs)
    });
    blob_round_trip(c, &rt, "s3 (moto)", Arc::new(s3));
    queue_round_trip(c, &rt, "sqs (moto)", Arc::new(sqs));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
