//! The embedded profile wired by the composition root: persistence across restarts,
//! readiness when the database goes away, rentals over HTTP on SQLite.
#![cfg(all(feature = "local", feature = "http"))]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kcl::domain::{BookDraft, Isbn};
use kcl::memory::MemoryBackend;
use kcl::{Config, Kcl};
use serde_json::Value;
use tower::ServiceExt;

fn config(dir: &std::path::Path) -> Config {
    let vars = HashMap::from([("KCL_DATA_DIR".to_owned(), dir.display().to_string())]);
    Config::from_vars(&vars).expect("config")
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kcl = Kcl::open(&config(dir.path())).await.expect("open");
    let draft = BookDraft::builder(
        "Vidas Secas",
        "Graciliano Ramos",
        Isbn::synthetic(1).as_str(),
    )
    .year(1938)
    .copies(1)
    .build()
    .expect("draft");
    let book = kcl.services.catalog.create(draft).await.expect("create");
    kcl.services
        .rentals
        .rent(book.id, "ana", None)
        .await
        .expect("rent");
    kcl.close().await;

    let kcl = Kcl::open(&config(dir.path())).await.expect("reopen");
    let app = kcl::http::router(kcl.services.clone());
    let (status, body) = get(&app, &format!("/api/books/{}", book.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "Vidas Secas");
    assert_eq!(body["available"], 0, "the rental survived too");
    let (_, history) = get(
        &app,
        &format!("/api/audit?entity_type=book&entity_id={}", book.id),
    )
    .await;
    assert_eq!(history["items"].as_array().expect("items").len(), 2);
    let (status, health) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    let checks = health["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    for probe in ["database", "blobs", "queue"] {
        assert!(names.contains(&probe), "{probe} is checked: {health}");
    }
    // The OCR queue is reported where OCR is built in, without making the service
    // unready when it fails.
    let ocr = checks.iter().find(|c| c["name"] == "ocr_queue");
    if cfg!(feature = "tesseract") {
        let ocr = ocr.unwrap_or_else(|| panic!("ocr_queue is checked: {health}"));
        assert_eq!(ocr["status"], "ok");
        assert_eq!(ocr["critical"], false);
    } else {
        assert!(ocr.is_none(), "no OCR, no OCR queue check: {health}");
    }
    kcl.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = kcl::local::SqliteStore::open(&dir.path().join("kcl.db"))
        .await
        .expect("open");
    let shared = Arc::new(store.clone());
    let mut ports = MemoryBackend::new().ports();
    ports.books = shared.clone();
    ports.rentals = shared.clone();
    ports.audit = shared;
    ports.probes = vec![Arc::new(kcl::local::SqliteProbe::new(&store))];
    let app = kcl::http::router(kcl::Services::new(ports));
    assert_eq!(get(&app, "/health").await.0, StatusCode::OK);
    store.close().await;
    let (status, body) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["status"], "error");
    assert_eq!(get(&app, "/health/live").await.0, StatusCode::OK);
    let (status, problem) = get(&app, "/api/books").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "unavailable");
}

#[tokio::test]
async fn bad_configuration_names_the_variable() {
    let vars = HashMap::from([("KCL_BLOBS".to_owned(), "ftp://x".to_owned())]);
    let err = Config::from_vars(&vars).expect_err("refused");
    assert!(err.to_string().starts_with("KCL_BLOBS="), "{err}");
}

#[tokio::test]
async fn a_start_removes_the_spool_files_a_crash_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(spool.join("kcl-parquet-1")).unwrap();
    let crash = [
        spool.join("kcl-sales-upload-1.csv"),
        spool.join("kcl-sales-2-incoming.csv"),
    ];
    let week_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 86_400);
    for f in &crash {
        std::fs::write(f, "x".repeat(1000)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(week_ago)
            .unwrap();
    }
    std::fs::File::open(spool.join("kcl-parquet-1"))
        .unwrap()
        .set_modified(week_ago)
        .unwrap();
    let fresh = spool.join("kcl-sales-upload-3.csv");
    std::fs::write(&fresh, "a load in progress").unwrap();
    let vars = HashMap::from([
        ("KCL_DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("KCL_SPOOL_DIR".to_owned(), spool.display().to_string()),
    ]);
    let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
    for f in &crash {
        assert!(!f.exists(), "{} was removed", f.display());
    }
    assert!(!spool.join("kcl-parquet-1").exists());
    assert!(
        fresh.exists(),
        "a recent file may belong to a load in progress"
    );
    kcl.close().await;
}
