//! Covers end to end through the queue: N uploads of 1600x1200 JPEGs (the seed's
//! photos), then the worker until every status is final; prints images/s. Runs on the
//! embedded profile (SQLite, files, SQLite queue) and, with
//! `KCL_BENCH_AWS_ENDPOINT` (the moto emulator) and `KCL_BENCH_DATABASE_URL`
//! (PostgreSQL), on the AWS profile (PostgreSQL, S3, SQS, DynamoDB).
//!
//! ```sh
//! KCL_BENCH_AWS_ENDPOINT=http://127.0.0.1:5599 \
//! KCL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//! OMP_THREAD_LIMIT=1 cargo bench --features aws,tesseract --bench pipeline -- 200
//! ```
//!
//! With `tesseract`, the same for OCR jobs: `n` one-image jobs of a 1000x300 rendered
//! text, then the OCR worker.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kcl::domain::{BookDraft, Isbn};
use kcl::ports::ProcessingState;
use kcl::worker::{run, WorkerConfig};
use kcl::{Config, Kcl};

fn photo(seed: u32) -> Bytes {
    // Smooth gradients with texture: compresses like a photograph, not like a flat fill.
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed).wrapping_mul(2_654_435_761)
            >> 27;
        image::Rgb([
            ((x / 7 + seed) % 256) as u8,
            ((y / 5 + n) % 256) as u8,
            (((x + y) / 11 + n) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    Bytes::from(out.into_inner())
}

async fn measure(name: &str, vars: HashMap<String, String>, photos: &[Bytes]) {
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    // One book per photo (a new cover replaces the old one and its pending task).
    let mut books = Vec::new();
    let base = u64::from(rand()) * 1000;
    for i in 0..photos.len() as u64 {
        let draft = BookDraft::builder("Bench", "KCL", Isbn::synthetic(base + i).as_str())
            .year(2026)
            .build()
            .unwrap();
        books.push(kcl.services.catalog.create(draft).await.unwrap().id);
    }
    // Uploads first, then the worker alone.
    let started = Instant::now();
    let mut keys = Vec::new();
    for (p, book) in photos.iter().zip(&books) {
        keys.push(
            kcl.services
                .covers
                .upload(*book, p.clone())
                .await
                .unwrap()
                .key,
        );
    }
    let upload_s = started.elapsed().as_secs_f64();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(
        kcl.tasks.clone(),
        kcl.services.covers.clone(),
        WorkerConfig {
            wait: Duration::from_secs(1),
            concurrency: std::env::var("KCL_WORKER_CONCURRENCY")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| WorkerConfig::default().concurrency),
            ..Default::default()
        },
        async {
            let _ = stopped.await;
        },
    ));
    let started = Instant::now();
    for k in &keys {
        loop {
            let st = kcl.status.get(k).await.unwrap().unwrap();
            if st.status.is_final() {
                assert_eq!(st.status, ProcessingState::Done, "{st:?}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let work_s = started.elapsed().as_secs_f64();
    stop.send(()).unwrap();
    let stats = worker.await.unwrap();
    println!(
        "{name:<10} {} images: uploads {:.1}/s, worker {:.1} images/s ({} done)",
        photos.len(),
        photos.len() as f64 / upload_s,
        photos.len() as f64 / work_s,
        stats.done
    );
    kcl.close().await;
}

/// OCR end to end: `n` one-image jobs (a 1000x300 rendered text), then the OCR worker
/// until every job is final.
#[cfg(feature = "tesseract")]
async fn measure_ocr(name: &str, vars: HashMap<String, String>, n: usize) {
    const PNG: &[u8] = include_bytes!("../kcl-media/tests/fixtures/ocr/two-lines.png");
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    let mut ids = Vec::new();
    let started = Instant::now();
    for k in 0..n {
        let job = kcl
            .services
            .jobs
            .create(&format!("bench {k}"), vec![Bytes::from_static(PNG)])
            .await
            .unwrap();
        ids.push(job.job.id);
    }
    let create_s = started.elapsed().as_secs_f64();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(
        kcl.ocr_tasks.clone(),
        kcl.services.jobs.clone(),
        WorkerConfig {
            wait: Duration::from_secs(1),
            ..Default::default()
        },
        async {
            let _ = stopped.await;
        },
    ));
    let started = Instant::now();
    for id in &ids {
        loop {
            let v = kcl.services.jobs.get(*id).await.unwrap();
            if v.status.is_final() {
                assert_eq!(v.status, kcl::domain::ItemStatus::Done, "{v:?}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let work_s = started.elapsed().as_secs_f64();
    stop.send(()).unwrap();
    worker.await.unwrap();
    println!(
        "OCR {name:<10} {n} images: jobs created {:.1}/s, worker {:.1} images/s",
        n as f64 / create_s,
        n as f64 / work_s
    );
    kcl.close().await;
}

fn rand() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let aws = std::env::var("KCL_BENCH_AWS_ENDPOINT").ok();
    if let Some(endpoint) = &aws {
        // Before any thread starts: the AWS SDK reads these.
        std::env::set_var("AWS_ENDPOINT_URL", endpoint);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let photos: Vec<Bytes> = (0..n as u32).map(photo).collect();
    println!(
        "{} photos of 1600x1200, {:.0} KB each on average; worker concurrency = cores (KCL_WORKER_CONCURRENCY to change)",
        n,
        photos.iter().map(|p| p.len()).sum::<usize>() as f64 / n as f64 / 1024.0
    );
    let dir = tempfile::tempdir().unwrap();
    let embedded = HashMap::from([("KCL_DATA_DIR".to_owned(), dir.path().display().to_string())]);
    rt.block_on(measure("embedded", embedded.clone(), &photos));
    #[cfg(feature = "tesseract")]
    rt.block_on(measure_ocr("embedded", embedded, n));
    match (aws, std::env::var("KCL_BENCH_DATABASE_URL")) {
        (Some(_), Ok(db)) => {
            let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
            let vars = HashMap::from(
                [
                    ("KCL_DATABASE_URL", db.as_str()),
                    ("KCL_BLOBS", &format!("s3://kcl-bench-{tag}")),
                    ("KCL_QUEUE", &format!("sqs://kcl-bench-{tag}")),
                    ("KCL_AUDIT", &format!("dynamodb://kcl-bench-{tag}")),
                    ("KCL_AUTO_PROVISION", "1"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
            rt.block_on(measure("aws (moto)", vars.clone(), &photos));
            #[cfg(feature = "tesseract")]
            rt.block_on(measure_ocr("aws (moto)", vars, n));
        }
        _ => eprintln!(
            "KCL_BENCH_AWS_ENDPOINT / KCL_BENCH_DATABASE_URL not set: AWS profile skipped"
        ),
    }
}
