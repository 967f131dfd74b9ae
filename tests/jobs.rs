//! OCR jobs end to end over HTTP, in-process, with real Tesseract: create (multipart,
//! duplicates detected), worker, list with counts, detail with texts, rename, cascade
//! delete, bad input; on the in-memory and the SQLite profiles. Without an engine
//! (`Kcl::in_memory`), the endpoints answer 503 saying how to enable OCR.
#![cfg(all(feature = "http", feature = "local", feature = "tesseract"))]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kcl::http::router;
use kcl::Kcl;
use serde_json::Value;

#[path = "support/app.rs"]
mod app;
#[path = "support/multipart.rs"]
mod multipart;
#[path = "support/worker.rs"]
mod worker;
use app::{Reply, TestApp};
use worker::BackgroundWorker;

const TWO_LINES: &[u8] = multipart::OCR_PNG;
const TWO_LINES_TEXT: &str = "KCL reads this text. The quick brown fox jumps over 13 lazy dogs.";
const SMALL_PRINT: &[u8] = include_bytes!("../kcl-media/tests/fixtures/ocr/small-print.png");
const SMALL_PRINT_TEXT: &str = "Small print: return by 3 March 2024.";

fn form(name: Option<&str>, images: &[&[u8]]) -> Request<Body> {
    let (content_type, body) = multipart::job_form(name, images);
    Request::builder()
        .method(Method::POST)
        .uri("/api/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

fn words(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn open(sqlite: bool) -> (Kcl, TestApp, tempfile::TempDir) {
    TestApp::open(sqlite, &[("KCL_JOB_MAX_IMAGES", "5")]).await
}

/// Runs the OCR worker until job `id` is final; returns its detail.
async fn work(kcl: &Kcl, app: &TestApp, id: &str) -> Value {
    let worker = BackgroundWorker::start(kcl.ocr_tasks.clone(), kcl.services.jobs.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    let detail = loop {
        let Reply { body: job, .. } = app.get(&format!("/api/jobs/{id}")).await;
        let st = job["status"].as_str().unwrap_or("");
        if !matches!(st, "PENDING" | "PROCESSING") {
            break job;
        }
        assert!(Instant::now() < deadline, "job still {st} after 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    worker.stop().await;
    detail
}

async fn flow(sqlite: bool) {
    let (kcl, app, _dir) = open(sqlite).await;

    // Create: three images, the first twice.
    let Reply {
        status, body: job, ..
    } = app
        .send(form(
            Some("Recibos de março"),
            &[TWO_LINES, SMALL_PRINT, TWO_LINES],
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(job["status"], "PENDING");
    assert_eq!(job["counts"]["pending"], 3);
    let items = job["items"].as_array().unwrap();
    assert!(items[0]["key"]
        .as_str()
        .unwrap()
        .starts_with(&format!("jobs/{id}/")));
    assert_eq!(
        items[2]["duplicate_of"], items[0]["id"],
        "the repeated image is detected"
    );
    assert!(
        items[0]["expires_at"].as_str().unwrap().ends_with('Z'),
        "UTC ISO-8601"
    );

    // The worker reads each distinct image once; the duplicate shares the text.
    let done = work(&kcl, &app, &id).await;
    assert_eq!(done["status"], "DONE", "{done}");
    let items = done["items"].as_array().unwrap();
    assert_eq!(words(items[0]["text"].as_str().unwrap()), TWO_LINES_TEXT);
    assert_eq!(words(items[1]["text"].as_str().unwrap()), SMALL_PRINT_TEXT);
    assert_eq!(items[2]["text"], items[0]["text"]);
    let c = items[0]["confidence"].as_f64().unwrap();
    assert!((50.0..=100.0).contains(&c), "confidence {c}");

    // The processing log: each distinct image went to PROCESSING and was read,
    // with its confidence and how long it took; the job page shows it.
    let Reply { body: log, .. } = app
        .get(&format!("/api/audit?entity_type=job&entity_id={id}"))
        .await;
    let events = log["items"].as_array().unwrap();
    let of =
        |action: &str| -> Vec<&Value> { events.iter().filter(|e| e["action"] == action).collect() };
    assert_eq!(of("item_processing").len(), 2, "{log}");
    let read = of("item_done");
    assert_eq!(read.len(), 2, "{log}");
    for e in &read {
        let item = &e["data"]["item"];
        assert!(item == &items[0]["id"] || item == &items[1]["id"], "{e}");
        assert!((50.0..=100.0).contains(&e["data"]["confidence"].as_f64().unwrap()));
        assert!(e["data"]["seconds"].as_f64().unwrap() >= 0.0, "{e}");
    }
    let page = app.get(&format!("/jobs/{id}")).await.text;
    assert!(page.contains("Processing log"), "{page}");
    assert!(page.contains("image 2: done, confidence"), "{page}");

    // Listing: counts and total.
    let Reply {
        status, body: list, ..
    } = app.get("/api/jobs?page=1&per_page=10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["counts"]["done"], 3);
    assert_eq!(list["items"][0]["status"], "DONE");
    assert_eq!(
        app.get("/api/jobs?per_page=0").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/jobs?page=x").await.status,
        StatusCode::BAD_REQUEST
    );

    // Rename; malformed renames are refused.
    let patch = |body: &str| {
        Request::builder()
            .method(Method::PATCH)
            .uri(format!("/api/jobs/{id}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let Reply {
        status,
        body: renamed,
        ..
    } = app.send(patch(r#"{"name": "Recibos"}"#)).await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Recibos"))
    );
    assert_eq!(
        app.send(patch(r#"{"name": ""}"#)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.send(patch(r#"{"nome": "x"}"#)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.send(patch("{")).await.status, StatusCode::BAD_REQUEST);

    // Delete cascades: job, rows, images; the deletion is in the job's history.
    let del = Request::delete(format!("/api/jobs/{id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(del).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/jobs/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(kcl
        .blobs
        .list(&format!("jobs/{id}/"), 10)
        .await
        .unwrap()
        .is_empty());
    let Reply { body: history, .. } = app
        .get(&format!("/api/audit?entity_type=job&entity_id={id}"))
        .await;
    let actions: Vec<_> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions.first().map(String::as_str), Some("created"));
    assert_eq!(actions[actions.len() - 2..], ["updated", "deleted"]);
    assert_eq!(
        actions.len(),
        7,
        "and two processing, two done: {actions:?}"
    );

    // A job deleted before the worker ran: its tasks are acked quietly.
    let Reply { body: gone, .. } = app.send(form(Some("gone"), &[SMALL_PRINT])).await;
    let gone_id = gone["id"].as_str().unwrap().to_owned();
    let del = Request::delete(format!("/api/jobs/{gone_id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(del).await.status, StatusCode::NO_CONTENT);
    // A truncated image: accepted (its header is fine), then ERROR with the reason.
    let truncated = &TWO_LINES[..TWO_LINES.len() / 2];
    let Reply {
        status, body: bad, ..
    } = app.send(form(Some("broken"), &[truncated])).await;
    assert_eq!(status, StatusCode::CREATED, "{bad}");
    let bad_id = bad["id"].as_str().unwrap().to_owned();
    let bad = work(&kcl, &app, &bad_id).await;
    assert_eq!(bad["status"], "ERROR", "{bad}");
    let reason = bad["items"][0]["error"].as_str().unwrap();
    assert!(!reason.is_empty());
    // The log has the error, with its reason.
    let Reply { body: log, .. } = app
        .get(&format!("/api/audit?entity_type=job&entity_id={bad_id}"))
        .await;
    let errors: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "item_error")
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert_eq!(errors[0]["data"]["reason"], reason);
    let stats = kcl.ocr_tasks.stats().await.unwrap();
    assert_eq!(
        (stats.visible, stats.in_flight),
        (0, 0),
        "nothing left looping: {stats:?}"
    );

    // Bad requests: clear 4xx, nothing created.
    let before = app.get("/api/jobs").await.body["total"].clone();
    for (req, want) in [
        (
            form(Some("text"), &[b"just text"]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (form(Some("none"), &[]), StatusCode::UNPROCESSABLE_ENTITY),
        (form(None, &[TWO_LINES]), StatusCode::UNPROCESSABLE_ENTITY),
        (
            form(Some("   "), &[TWO_LINES]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            form(Some("six"), &[SMALL_PRINT; 6]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            form(Some("empty image"), &[b""]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let Reply { status, body, .. } = app.send(req).await;
        assert_eq!(status, want, "{body}");
        assert!(body["code"].is_string(), "a problem document: {body}");
    }
    assert_eq!(
        app.get("/api/jobs").await.body["total"],
        before,
        "nothing was created"
    );
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        app.get(&format!("/api/jobs/{unknown}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/jobs/not-a-uuid").await.status,
        StatusCode::BAD_REQUEST
    );
    kcl.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_memory() {
    flow(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_sqlite() {
    flow(true).await;
}

#[tokio::test]
async fn without_an_engine_ocr_answers_503_saying_how_to_enable_it() {
    let app = TestApp::new(router(Kcl::in_memory().services.clone()));
    let Reply { status, body, .. } = app.send(form(Some("x"), &[TWO_LINES])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "not-enabled");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("--features tesseract"),
        "{body}"
    );
}
