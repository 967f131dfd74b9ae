//! The standalone worker host, in-process on a random port: `/health/live`, `/health`
//! (the server's readiness report) and `/metrics` (the task series once a task ran,
//! and `kcl_build_info`), then a clean stop; and `kcl_build_info` on the server's
//! `/metrics` too.
#![cfg(all(feature = "http", feature = "media"))]

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kcl::domain::{BookDraft, Isbn};
use kcl::ports::ProcessingState;
use kcl::{Kcl, WorkerOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `GET path` over plain HTTP/1.1: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    get_with(addr, path, "").await
}

/// `GET path` with more header lines (each ending `\r\n`).
async fn get_with(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("the worker listens");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Starts the worker host on `kcl` with a listener on a random loopback port.
async fn start(
    kcl: Kcl,
    metrics: bool,
    metrics_token: Option<&str>,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), Box<dyn std::error::Error + Send + Sync>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = WorkerOptions {
        concurrency: 1,
        listener: Some(listener),
        metrics,
        metrics_token: metrics_token.map(str::to_owned),
    };
    let host = tokio::spawn(kcl::run_worker(kcl, options, async move {
        let _ = stopped.await;
    }));
    (addr, stop, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_serves_health_and_task_metrics() {
    let kcl = Kcl::in_memory();
    let services = kcl.services.clone();
    let (addr, stop, host) = start(kcl, true, None).await;

    let (status, body) = get(addr, "/health/live").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "ok"
    );

    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["status"], "ok");
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"blobs") && checks.contains(&"queue"),
        "{checks:?}"
    );

    // Before any task: the build, but no task series yet.
    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let build_info = format!(
        "kcl_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(metrics.lines().any(|l| l == build_info), "{metrics}");
    assert!(!metrics.contains("kcl_tasks_total{"), "{metrics}");

    // A cover upload queues a thumbnail task, which this worker runs.
    let draft = BookDraft::builder(
        "Dom Casmurro",
        "Machado de Assis",
        Isbn::synthetic(1).as_str(),
    )
    .category("Romance")
    .year(1899)
    .price_cents(3990)
    .copies(1)
    .build()
    .unwrap();
    let book = services.catalog.create(draft).await.unwrap();
    let accepted = services
        .covers
        .upload(book.id, jpeg(640, 480).into())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = services.covers.status(&accepted.key).await.unwrap();
        if st.status.is_final() {
            assert_eq!(st.status, ProcessingState::Done, "{}", st.message);
            break;
        }
        assert!(Instant::now() < deadline, "the worker did not run the task");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let done = metrics
        .lines()
        .find(|l| {
            l.starts_with("kcl_tasks_total{")
                && l.contains("kind=\"thumbnail\"")
                && l.contains("outcome=\"done\"")
        })
        .unwrap_or_else(|| panic!("no kcl_tasks_total line for the task in:\n{metrics}"));
    assert!(done.ends_with(" 1"), "{done}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("kcl_task_duration_seconds_count{kind=\"thumbnail\"} 1")),
        "{metrics}"
    );
    assert!(metrics.contains("kcl_queue_messages{"), "{metrics}");

    // Stop: the host ends cleanly and the port is closed.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), host)
        .await
        .expect("the worker stops")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn without_metrics_the_worker_serves_health_only() {
    let (addr, stop, host) = start(Kcl::in_memory(), false, None).await;
    assert_eq!(get(addr, "/health/live").await.0, 200);
    assert_eq!(get(addr, "/health").await.0, 200);
    assert_eq!(get(addr, "/metrics").await.0, 404);
    assert_eq!(get(addr, "/api/books").await.0, 404);
    stop.send(()).unwrap();
    host.await.unwrap().unwrap();
}

/// With `KCL_METRICS_TOKEN`, the worker's `/metrics` wants it as a bearer token;
/// its health checks stay open.
#[tokio::test]
async fn with_a_metrics_token_the_worker_wants_it() {
    let token = "worker-scrape-token-0123456789";
    let (addr, stop, host) = start(Kcl::in_memory(), true, Some(token)).await;
    assert_eq!(get(addr, "/health/live").await.0, 200);
    assert_eq!(get(addr, "/health").await.0, 200);
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("kcl_build_info"), "{body}");
    for wrong in [
        "Authorization: Bearer worker-scrape-token-012345678\r\n",
        "Authorization: Bearer worker-scrape-token-01234567890\r\n",
        "Authorization: Basic d29ya2VyOnRva2Vu\r\n",
    ] {
        assert_eq!(get_with(addr, "/metrics", wrong).await.0, 401, "{wrong}");
    }
    let (status, body) = get_with(
        addr,
        "/metrics",
        &format!("Authorization: Bearer {token}\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("kcl_build_info"), "{body}");
    stop.send(()).unwrap();
    host.await.unwrap().unwrap();
}

/// A metrics token the worker cannot use stops it at start, naming the variable.
#[tokio::test]
async fn a_short_metrics_token_stops_the_worker() {
    let (_, _stop, host) = start(Kcl::in_memory(), true, Some("short")).await;
    let e = host.await.unwrap().unwrap_err().to_string();
    assert!(e.starts_with("KCL_METRICS_TOKEN"), "{e}");
    assert!(!e.contains("short"), "{e}");
}

#[tokio::test]
async fn the_server_metrics_carry_the_build_info_too() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let app = kcl::http::router_with(
        Kcl::in_memory().services,
        kcl::http::HttpOptions::default()
            .metrics(kcl::http::metrics::MetricsExport::InstallPrometheus),
    );
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let build_info = format!(
        "kcl_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.lines().any(|l| l == build_info), "{text}");
}
