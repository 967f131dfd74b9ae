//! Two server *processes* on the AWS profile: one PostgreSQL database, one SQS queue,
//! one S3 bucket, one DynamoDB table (the moto emulator) and, when
//! `KCL_TEST_REDIS_URL` is set, one Redis cache. Needs `KCL_TEST_POSTGRES_URL` and
//! `KCL_TEST_AWS_ENDPOINT`; skipped when unset unless `KCL_TEST_REQUIRE_ALL=1`.
//!
//! The servers are this test binary started again with `KCL_TEST_SERVE=1` on its
//! ignored entry `serve_when_asked` (so it is no test of its own): each
//! child runs [`kcl::serve_from_env`], exactly what `cargo run --example server
//! --features aws` runs, configured only by environment variables.
#![cfg(all(feature = "aws", feature = "http"))]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kcl_aws::testkit::TestDatabase;
use kcl_core::testkit::services;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/kcl_proc.rs"]
mod kcl_proc;
use kcl_proc::free_port;
#[cfg(feature = "tesseract")]
#[path = "support/multipart.rs"]
mod multipart;

/// The child's entry point: serves until SIGTERM. Ignored, so that it never counts
/// as a passing test: [`start`] runs it by name with `--ignored --exact`. Run any
/// other way (`--include-ignored`), it fails, saying so.
#[test]
#[ignore = "the server process of two_server_processes_share_one_truth, which starts it"]
fn serve_when_asked() {
    assert_eq!(
        std::env::var("KCL_TEST_SERVE").as_deref(),
        Ok("1"),
        "serve_when_asked is a child process of two_server_processes_share_one_truth, \
         not a test of its own"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        kcl::serve_from_env(async move {
            term.recv().await;
        })
        .await
        .expect("server");
    });
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        kcl_proc::stop(&mut self.child);
    }
}

fn start(env: &[(String, String)]) -> Server {
    let addr = free_port();
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "serve_when_asked",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KCL_TEST_SERVE", "1")
        .env("KCL_HTTP_ADDR", addr.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a server process");
    Server { child, addr }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and JSON body.
async fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, _, bytes) = raw(addr, method, path, "application/json", body.as_bytes()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The servers' shared HS256 secret (test only; one per run, so that what a run
/// leaves in the shared Redis, such as failed logins, is not the next run's).
static SECRET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("multi-instance test secret {}", uuid::Uuid::new_v4()));

/// An admin token both servers accept.
fn admin_token() -> String {
    kcl::http::auth::TokenIssuer::hs256(SECRET.as_bytes())
        .expect("an HS256 secret")
        .issue(
            "multi-instance-test",
            kcl::http::auth::Role::Admin,
            Duration::from_secs(3600),
        )
}

/// One HTTP/1.1 request as an admin; returns status, head and body bytes.
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let auth = format!("Authorization: Bearer {}\r\n", admin_token());
    request(addr, method, path, &auth, content_type, body).await
}

/// One HTTP/1.1 request with these extra header lines (each ending in CRLF).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.expect("write");
    sock.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.expect("read");
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head[9..12].parse().expect("status");
    let rest = buf[split + 4..].to_vec();
    let rest = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&rest)
    } else {
        rest
    };
    (status, head, rest)
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = s.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&s[..eol]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&s[eol + 2..eol + 2 + n]);
        s = &s[eol + 2 + n + 2..];
    }
    out
}

async fn wait_ready(s: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = s.child.try_wait() {
            panic!("server exited early: {status}");
        }
        if tokio::net::TcpStream::connect(s.addr).await.is_ok() {
            let (status, body) = call(s.addr, "GET", "/health", None).await;
            assert_eq!(status, 200, "ready: {body}");
            return;
        }
        assert!(Instant::now() < deadline, "server did not start in 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_share_one_truth() {
    let Some(aws) = services::aws_endpoint() else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let db_url = db.url().to_owned();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let mut env: Vec<(String, String)> = [
        ("KCL_DATABASE_URL", db_url.as_str()),
        ("KCL_BLOBS", &format!("s3://kcl-multi-{tag}/media")),
        ("KCL_QUEUE", &format!("sqs://kcl-multi-{tag}")),
        ("KCL_AUDIT", &format!("dynamodb://kcl-multi-{tag}")),
        ("KCL_AUTO_PROVISION", "1"),
        // Every server shares the secret, so a token works on each of them.
        ("KCL_AUTH_JWT_SECRET", SECRET.as_str()),
        ("AWS_ENDPOINT_URL", aws.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("KCL_LOG", "warn"),
        ("OMP_THREAD_LIMIT", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Optional: without it, the shared-session checks are left out (said below).
    let redis = std::env::var(services::REDIS_URL).ok();
    if let Some(redis) = &redis {
        env.push(("KCL_CACHE_URL".into(), redis.clone()));
    }
    // One web UI user for both servers.
    let users_dir = tempfile::tempdir().expect("tempdir");
    let users = users_dir.path().join("users");
    std::fs::write(
        &users,
        format!(
            "ana:staff:{}\n",
            kcl::http::auth::hash_password("ana's password").expect("hash")
        ),
    )
    .expect("users file");
    env.push(("KCL_AUTH_USERS".into(), users.display().to_string()));
    // The first server provisions; the second starts once it is up.
    let mut a = start(&env);
    wait_ready(&mut a).await;
    let mut b = start(&env);
    wait_ready(&mut b).await;
    let (_, health) = call(b.addr, "GET", "/health", None).await;
    let names: Vec<&str> = health["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for probe in ["database", "blobs", "queue", "audit"] {
        assert!(names.contains(&probe), "{probe} is checked: {health}");
    }
    if cfg!(feature = "tesseract") {
        assert!(
            names.contains(&"ocr_queue"),
            "the OCR queue is checked: {health}"
        );
    }

    // A book created on A is served by B.
    let (status, book) = call(
        a.addr,
        "POST",
        "/api/books",
        Some(json!({
            "title": "Dom Casmurro", "author": "Machado de Assis",
            "isbn": "978-85-359-1066-7", "category": "Romance", "year": 1899,
            "price_cents": 3990, "copies": 5
        })),
    )
    .await;
    assert_eq!(status, 201, "{book}");
    let id = book["id"].as_str().expect("id").to_owned();
    let (status, seen) = call(b.addr, "GET", &format!("/api/books/{id}"), None).await;
    assert_eq!((status, &seen["title"]), (200, &book["title"]));

    // 40 concurrent rentals split across both processes: exactly 5 succeed.
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        let body = json!({"book_id": id, "renter": format!("r{i}"), "due_date": due});
        tasks.push(tokio::spawn(async move {
            call(addr, "POST", "/api/rentals", Some(body)).await.0
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.expect("task"));
    }
    let created = codes.iter().filter(|c| **c == 201).count();
    assert_eq!(created, 5, "never more rentals than copies: {codes:?}");
    assert!(
        codes.iter().all(|c| *c == 201 || *c == 409),
        "the others are refused as conflicts: {codes:?}"
    );
    for s in [a.addr, b.addr] {
        let (_, b) = call(s, "GET", &format!("/api/books/{id}"), None).await;
        assert_eq!(b["available"], 0, "both see no copy left: {b}");
    }
    // The history (in DynamoDB) has the creation and the five rentals, read from B.
    let (status, audit) = call(
        b.addr,
        "GET",
        &format!("/api/audit?entity_type=book&entity_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "rented").count(),
        5,
        "{actions:?}"
    );
    assert_eq!(actions.first(), Some(&"created"), "{actions:?}");

    // A cover uploaded to A is thumbnailed by a worker (in either process, both
    // receive from the one SQS queue), and B serves it through a presigned S3 URL.
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let (status, _, body) = raw(
        a.addr,
        "POST",
        &format!("/api/books/{id}/cover"),
        "image/jpeg",
        jpeg.get_ref(),
    )
    .await;
    let up: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(status, 202, "{up}");
    let status_url = up["status_url"].as_str().expect("status url").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, st) = call(b.addr, "GET", &status_url, None).await;
        match st["status"].as_str() {
            Some("DONE") => break,
            Some("ERROR") => panic!("thumbnail failed: {st}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "no thumbnail in 60 s: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, head, _) = raw(
        b.addr,
        "GET",
        &format!("/api/books/{id}/cover/thumb"),
        "text/plain",
        b"",
    )
    .await;
    assert_eq!(status, 307, "a redirect to S3: {head}");
    let url = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        })
        .expect("a Location header");
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let s3: SocketAddr = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let (status, _, thumb) = raw(s3, "GET", path, "text/plain", b"").await;
    assert_eq!(status, 200, "the presigned URL serves the thumbnail");
    let t = image::load_from_memory(&thumb).expect("a decodable thumbnail");
    assert_eq!((t.width(), t.height()), (256, 192));

    // An OCR job created on A (with the `tesseract` feature) is read by a worker in
    // either process through its own SQS queue; B shows the text, and its delete
    // cascades to S3.
    #[cfg(feature = "tesseract")]
    {
        let (content_type, form) = multipart::job_form(Some("multi"), &[multipart::OCR_PNG]);
        let (status, _, body) = raw(a.addr, "POST", "/api/jobs", &content_type, &form).await;
        let job: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 201, "{job}");
        let job_id = job["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        let done = loop {
            let (_, j) = call(b.addr, "GET", &format!("/api/jobs/{job_id}"), None).await;
            if j["status"] == "DONE" || j["status"] == "ERROR" {
                break j;
            }
            assert!(Instant::now() < deadline, "OCR not done in 60 s: {j}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(done["status"], "DONE", "{done}");
        let text = done["items"][0]["text"].as_str().unwrap();
        assert!(text.contains("quick brown fox"), "{text}");
        let (status, _) = call(b.addr, "DELETE", &format!("/api/jobs/{job_id}"), None).await;
        assert_eq!(status, 204);
        let (status, _) = call(a.addr, "GET", &format!("/api/jobs/{job_id}"), None).await;
        assert_eq!(status, 404, "deleted for both");
    }

    // With a shared cache (Redis), a session logged out on A is refused by B, and
    // failed logins on A and B count together.
    if redis.is_some() {
        web_sessions_are_shared(a.addr, b.addr).await;
    } else {
        println!("KCL_TEST_REDIS_URL not set: shared logout and login throttling not checked");
    }

    drop(a);
    drop(b);
    db.drop_now().await;
}

/// A response header's value.
fn header_of(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

async fn web_sessions_are_shared(a: SocketAddr, b: SocketAddr) {
    let form = "application/x-www-form-urlencoded";
    let login = b"username=ana&password=ana%27s+password&next=/";
    let (status, head, _) = request(a, "POST", "/login", "", form, login).await;
    assert_eq!(status, 303, "{head}");
    let cookie = header_of(&head, "set-cookie").expect("a session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = format!("Cookie: {cookie}\r\n");
    // The session works on both servers.
    let (status, _, page) = request(b, "GET", "/", &with_cookie, "text/plain", b"").await;
    assert_eq!(status, 200, "B accepts A's session");
    let page = String::from_utf8_lossy(&page);
    let at = page.find("csrf=").expect("a form with a CSRF token") + 5;
    let csrf: String = page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    // Logged out on A: B refuses the same cookie (off to the login page).
    let (status, _, _) = request(
        a,
        "POST",
        &format!("/logout?csrf={csrf}"),
        &with_cookie,
        form,
        b"",
    )
    .await;
    assert_eq!(status, 303);
    let (status, head, _) = request(b, "GET", "/", &with_cookie, "text/plain", b"").await;
    assert_eq!(status, 303, "B refuses a session logged out on A: {head}");
    assert!(header_of(&head, "location").unwrap().starts_with("/login"));

    // Five wrong passwords, alternating servers: the sixth attempt is throttled on
    // either, even with the right password.
    for i in 0..5 {
        let server = if i % 2 == 0 { a } else { b };
        let (status, _, _) = request(
            server,
            "POST",
            "/login",
            "",
            form,
            b"username=ana&password=wrong&next=/",
        )
        .await;
        assert_eq!(status, 401, "attempt {i}");
    }
    for server in [a, b] {
        let (status, head, _) = request(server, "POST", "/login", "", form, login).await;
        assert_eq!(status, 429, "throttled across servers: {head}");
        let wait: u64 = header_of(&head, "retry-after").unwrap().parse().unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
    }
}
