//! Cover uploads end to end, in-process: HTTP upload → queue → worker → thumbnail,
//! on the in-memory and the embedded SQLite profiles (the AWS profile's run is in
//! `multi_instance.rs`, across two server processes).
#![cfg(all(feature = "http", feature = "local", feature = "media"))]

use std::io::Cursor;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kcl::services::TaskHandler;
use kcl::Kcl;
use serde_json::{json, Value};

#[path = "support/app.rs"]
mod app;
#[path = "support/worker.rs"]
mod worker;
use app::{Reply, TestApp};
use worker::BackgroundWorker;

async fn upload_raw(app: &TestApp, book: &str, data: Vec<u8>, ct: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/books/{book}/cover"))
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(data))
        .unwrap();
    app.send(req).await
}

async fn upload_multipart(app: &TestApp, book: &str, field: &str, data: &[u8]) -> Reply {
    let boundary = "kclboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"c.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/books/{book}/cover"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn png_with_alpha(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| image::Rgba([200, 10, 10, (x % 256) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A PNG header claiming 100,000 x 100,000 pixels (no pixel data).
fn huge_png_header() -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked by a header read)
    png
}

struct Profile {
    kcl: Kcl,
    app: TestApp,
    _dir: Option<tempfile::TempDir>,
}

async fn profile(sqlite: bool) -> Profile {
    let (kcl, app, dir) = TestApp::open(sqlite, &[]).await;
    Profile {
        kcl,
        app,
        _dir: Some(dir),
    }
}

async fn new_book(app: &TestApp) -> String {
    let isbn = kcl::domain::Isbn::synthetic(rand_n()).as_str().to_owned();
    let req = Request::post("/api/books")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"title": "Capitães da Areia", "author": "Jorge Amado", "isbn": isbn,
                   "year": 1937, "copies": 1})
            .to_string(),
        ))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn rand_n() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0 % 1_000_000_000
}

/// Runs the worker until `keys` are all final (or 30 s pass); returns their statuses.
async fn work_until_final(p: &Profile, keys: &[&str]) -> Vec<Value> {
    let worker = BackgroundWorker::start(p.kcl.tasks.clone(), p.kcl.services.covers.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    for key in keys {
        loop {
            let r = p.app.get(&kcl_status_url(key)).await;
            let st = r.body["status"].as_str().unwrap_or("").to_owned();
            if st == "DONE" || st == "ERROR" {
                out.push(r.body);
                break;
            }
            assert!(Instant::now() < deadline, "{key} still {st} after 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    worker.stop().await;
    out
}

fn kcl_status_url(key: &str) -> String {
    format!("/api/processing?key={}", key.replace('/', "%2F"))
}

async fn flow(sqlite: bool) {
    let p = profile(sqlite).await;
    let book = new_book(&p.app).await;

    // Upload (raw body), 202 with the key and a status URL; status PENDING.
    let up = upload_raw(&p.app, &book, jpeg(1200, 800), "image/jpeg").await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{:?}", up.body);
    let key = up.body["key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with(&format!("uploads/{book}/")) && key.ends_with(".jpg"),
        "{key}"
    );
    assert_eq!(up.body["status"], "PENDING");
    let st = p.app.get(up.body["status_url"].as_str().unwrap()).await;
    assert_eq!(
        (st.status, st.body["status"].as_str()),
        (StatusCode::OK, Some("PENDING"))
    );
    assert_eq!(
        p.app
            .get(&format!("/api/books/{book}/cover/thumb"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "no thumbnail before the worker ran"
    );

    // The worker makes the thumbnail: status DONE, the book links it.
    let done = work_until_final(&p, &[&key]).await;
    assert_eq!(done[0]["status"], "DONE", "{:?}", done[0]);
    let b = p.app.get(&format!("/api/books/{book}")).await;
    assert_eq!(b.body["cover"]["key"], key.as_str());
    let thumb = p
        .app
        .get(b.body["cover"]["thumbnail_url"].as_str().unwrap())
        .await;
    assert_eq!(
        (thumb.status, thumb.content_type.as_str()),
        (StatusCode::OK, "image/jpeg")
    );
    let t = image::load_from_memory(&thumb.bytes).unwrap();
    assert_eq!(
        (t.width(), t.height()),
        (256, 171),
        "longest side 256, aspect kept"
    );
    let original = p.app.get(&format!("/api/books/{book}/cover")).await;
    assert_eq!(original.status, StatusCode::OK);
    assert_eq!(
        image::load_from_memory(&original.bytes).unwrap().width(),
        1200
    );

    // Redelivery is harmless: the same task again is Done and changes nothing.
    let task = json!({"bucket": "local", "key": key}).to_string();
    assert_eq!(
        p.kcl.services.covers.handle(&task).await,
        kcl::services::TaskOutcome::Done
    );
    let again = p.app.get(&kcl_status_url(&key)).await;
    assert_eq!(again.body, done[0], "status unchanged by a repeated task");

    // A replacement (multipart, PNG with alpha → PNG thumbnail) removes the old files.
    let old_thumb_key = {
        let list = p
            .kcl
            .blobs
            .list(&format!("thumb/{book}/"), 10)
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        list[0].key.clone()
    };
    let up2 = upload_multipart(&p.app, &book, "file", &png_with_alpha(300, 600)).await;
    assert_eq!(up2.status, StatusCode::ACCEPTED, "{:?}", up2.body);
    let key2 = up2.body["key"].as_str().unwrap().to_owned();
    assert!(key2.ends_with(".png"));
    assert!(
        p.kcl
            .blobs
            .head(&kcl::ports::BlobKey::parse(&key).unwrap())
            .await
            .is_err(),
        "the replaced original is gone"
    );
    assert!(
        p.kcl.blobs.head(&old_thumb_key).await.is_err(),
        "and its thumbnail"
    );
    let done2 = work_until_final(&p, &[&key2]).await;
    assert_eq!(done2[0]["status"], "DONE", "{:?}", done2[0]);
    let thumb2 = p.app.get(&format!("/api/books/{book}/cover/thumb")).await;
    assert_eq!(thumb2.content_type, "image/png", "alpha keeps PNG");
    let t2 = image::load_from_memory(&thumb2.bytes).unwrap();
    assert_eq!((t2.width(), t2.height()), (128, 256));
    assert!(t2.color().has_alpha());

    // The history records both uploads and both thumbnails.
    let audit = p
        .app
        .get(&format!("/api/audit?entity_type=book&entity_id={book}"))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "cover_uploaded").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "thumbnail_created")
            .count(),
        2,
        "{actions:?}"
    );

    // Two uploads before the worker runs: the first is superseded, and says so.
    let first = upload_raw(&p.app, &book, jpeg(64, 64), "image/jpeg").await;
    let second = upload_raw(&p.app, &book, jpeg(80, 40), "image/jpeg").await;
    let (k1, k2) = (
        first.body["key"].as_str().unwrap().to_owned(),
        second.body["key"].as_str().unwrap().to_owned(),
    );
    let st = work_until_final(&p, &[&k1, &k2]).await;
    assert_eq!(st[0]["status"], "ERROR");
    assert!(
        st[0]["message"]
            .as_str()
            .unwrap()
            .contains("replaced by a newer cover"),
        "{:?}",
        st[0]
    );
    assert_eq!(st[1]["status"], "DONE");

    bad_input(&p, &book).await;

    // Deleting the book deletes its cover files.
    let (v, files) = {
        let b = p.app.get(&format!("/api/books/{book}")).await;
        (
            b.body["version"].as_u64().unwrap(),
            p.kcl
                .blobs
                .list(&format!("uploads/{book}/"), 10)
                .await
                .unwrap()
                .len(),
        )
    };
    assert!(files >= 1);
    let del = Request::delete(format!("/api/books/{book}?version={v}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(p.app.send(del).await.status, StatusCode::NO_CONTENT);
    assert!(p
        .kcl
        .blobs
        .list(&format!("uploads/{book}/"), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(p
        .kcl
        .blobs
        .list(&format!("thumb/{book}/"), 10)
        .await
        .unwrap()
        .is_empty());
    p.kcl.close().await;
}

/// Every bad upload gets a 4xx problem and stores nothing; bad images and messages
/// end as ERROR statuses or dropped messages, and the worker keeps going.
async fn bad_input(p: &Profile, book: &str) {
    let before = p.kcl.blobs.list("uploads/", 1000).await.unwrap().len();
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        (
            "text named .jpg",
            b"hello, I am text".to_vec(),
            "image/jpeg",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "zero bytes",
            Vec::new(),
            "image/jpeg",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "100,000 x 100,000 PNG",
            huge_png_header(),
            "image/png",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "21 MiB",
            vec![0xff; 21 * 1024 * 1024],
            "image/jpeg",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (what, data, ct, want) in cases {
        let r = upload_raw(&p.app, book, data, ct).await;
        assert_eq!(r.status, want, "{what}: {:?}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{what}");
    }
    let unknown = uuid::Uuid::now_v7();
    let r = upload_raw(&p.app, &unknown.to_string(), jpeg(10, 10), "image/jpeg").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let r = upload_multipart(&p.app, book, "not-file", &jpeg(10, 10)).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing-file"))
    );
    assert_eq!(
        p.kcl.blobs.list("uploads/", 1000).await.unwrap().len(),
        before,
        "rejected uploads store nothing"
    );

    // A truncated JPEG passes the header check and fails in the worker: ERROR, with why.
    let mut truncated = jpeg(800, 600);
    truncated.truncate(truncated.len() / 3);
    let up = upload_raw(&p.app, book, truncated, "image/jpeg").await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{:?}", up.body);
    let key = up.body["key"].as_str().unwrap().to_owned();
    // Poison and unknown messages on the same queue: dropped, never retried.
    p.kcl.tasks.send("not json at all").await.unwrap();
    p.kcl
        .tasks
        .send(r#"{"bucket":"local","key":"uploads/not-a-book/x.jpg"}"#)
        .await
        .unwrap();
    let st = work_until_final(p, &[&key]).await;
    assert_eq!(st[0]["status"], "ERROR");
    let msg = st[0]["message"].as_str().unwrap();
    assert!(!msg.is_empty(), "a readable reason");
    // Nothing is left on the queue to loop forever.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = p.kcl.tasks.stats().await.unwrap();
    assert_eq!((stats.visible, stats.in_flight), (0, 0), "{stats:?}");
    // The book still shows its last good cover? No: the truncated upload replaced it,
    // and its failed thumbnail is reported, not invented.
    let b = p.app.get(&format!("/api/books/{book}")).await;
    assert_eq!(b.body["cover"]["key"], key.as_str());
    assert!(b.body["cover"].get("thumbnail_url").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covers_on_memory() {
    flow(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covers_on_sqlite() {
    flow(true).await;
}
