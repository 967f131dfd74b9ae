//! Clients that send slowly, on a real socket: an anonymous client trickling bodies
//! or headers cannot hold the request slots authenticated requests need, nor a
//! connection for long.
#![cfg(feature = "http")]

use std::time::Duration;

use kcl::http::auth::{AuthSettings, Role, TokenIssuer};
use kcl::http::{router_with, serve_with, HttpOptions, ServeTimeouts};
use kcl_core::memory::MemoryBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &[u8] = b"an hs256 secret of thirty-two bytes or more";

/// A server with 32 request slots on a random port, and a stop switch.
async fn server(timeouts: ServeTimeouts) -> (String, tokio::sync::oneshot::Sender<()>) {
    let options = HttpOptions::default().max_in_flight(32);
    serve_on_loopback(options, timeouts).await
}

/// A server with these options (authentication on) and timeouts on a random port,
/// and a stop switch.
async fn serve_on_loopback(
    options: HttpOptions,
    timeouts: ServeTimeouts,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let options = options.auth(AuthSettings::new(SECRET.to_vec()).unwrap());
    let app = router_with(MemoryBackend::new().services(), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        timeouts,
    ));
    (addr, stop)
}

/// Sends `request` on a new connection and reads the status code of the answer
/// (`None` when the server closed the connection without one), within 20 s.
async fn status(addr: &str, request: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the server answers or closes")
        .ok()?;
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// A connection that sent a token request's headers and one byte of its 1,000-byte
/// body, and sends nothing more.
async fn trickler(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /api/auth/token HTTP/1.1\r\nHost: kcl\r\ncontent-type: application/json\r\n\
          content-length: 1000\r\n\r\n{",
    )
    .await
    .unwrap();
    s
}

fn books_request() -> String {
    let token = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "reader",
        Role::Reader,
        Duration::from_secs(300),
    );
    format!(
        "GET /api/books HTTP/1.1\r\nHost: kcl\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    )
}

/// A whole token request, with a wrong password.
fn login_request() -> String {
    let body = r#"{"username":"a","password":"b"}"#;
    format!(
        "POST /api/auth/token HTTP/1.1\r\nHost: kcl\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_clients_trickling_bodies_leave_the_slots_of_authenticated_requests() {
    // Bodies may pause for a minute here: only the budgets protect the server.
    let (addr, _stop) = server(ServeTimeouts::default().body_frame(Duration::from_secs(60))).await;
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(trickler(&addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 64 anonymous requests hang on to their bodies; before, they held every one of
    // the 32 slots and this got `503 overloaded`.
    for _ in 0..3 {
        assert_eq!(status(&addr, &books_request()).await, Some(200));
    }
    // Anonymous requests share a small budget of their own, now used up.
    assert_eq!(status(&addr, &login_request()).await, Some(503));
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_coming_is_refused_and_frees_its_slot() {
    let (addr, _stop) = server(ServeTimeouts::default().body_frame(Duration::from_secs(1))).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(trickler(&addr).await);
    }
    // Those within the anonymous budget (4 of 32 slots) are refused once their body
    // pauses too long; the others were shed at once.
    let mut refused = 0;
    for s in &mut held {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
        let text = String::from_utf8_lossy(&out);
        let code: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert!(code == 503 || (400..500).contains(&code), "{text}");
        refused += usize::from(code != 503);
    }
    assert_eq!(
        refused, 4,
        "the budget's requests ended by the body timeout"
    );
    // ... and the budget is free again: a whole login request is answered.
    assert_eq!(status(&addr, &login_request()).await, Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_do_not_keep_a_connection_open() {
    let (addr, _stop) = server(ServeTimeouts::default().header_read(Duration::from_secs(1))).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /api/books HTTP/1.1\r\nHost: kcl\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    // Before, `serve` set no timer: this read waited forever.
    let read = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server closed the connection");
    // Whole requests still work.
    assert_eq!(status(&addr, &books_request()).await, Some(200));
}

/// A server with these options (authentication on) on a random port; a body may
/// pause for a minute between pieces.
async fn server_with(options: HttpOptions) -> (String, tokio::sync::oneshot::Sender<()>) {
    serve_on_loopback(
        options,
        ServeTimeouts::default().body_frame(Duration::from_secs(60)),
    )
    .await
}

fn token(role: Role) -> String {
    TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "someone",
        role,
        Duration::from_secs(300),
    )
}

/// Reads the answer on `s` (status and body), within 20 s.
async fn answer(s: &mut TcpStream) -> (u16, String) {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_upload_trickled_in_is_refused_and_frees_its_slot() {
    let (addr, _stop) = server_with(
        HttpOptions::default()
            .max_uploads(1)
            .upload_min_rate(1024, Duration::from_secs(1)),
    )
    .await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/sales/files?name=slow.csv HTTP/1.1\r\nHost: kcl\r\n\
             authorization: Bearer {}\r\ncontent-type: text/csv\r\n\
             content-length: 100000\r\n\r\nloja;data;codigo;quantidade;preco_unitario\n",
            token(Role::Admin)
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // A byte every 300 ms: within the 60 s pause allowed between pieces, but far
    // below 1 KiB/s. Before, this held the only upload slot for the 10-minute
    // upload deadline.
    let trickle = async {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(b"S").await.is_err() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), trickle)
        .await
        .expect("the trickle ends");
    let (code, text) = answer(&mut s).await;
    assert_eq!(code, 408, "{text}");
    assert!(text.contains("upload-too-slow"), "{text}");
    // The slot is free: a whole upload is taken.
    let body = "loja;data;codigo;quantidade;preco_unitario\nS1;23/11/2026;789;2;1,50\n";
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/sales/files?name=ok.csv HTTP/1.1\r\nHost: kcl\r\n\
             authorization: Bearer {}\r\ncontent-type: text/csv\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n{body}",
            token(Role::Admin),
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (code, text) = answer(&mut s).await;
    assert!((200..300).contains(&code), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_every_slot_taken_is_not_ready_but_alive() {
    let (addr, _stop) = server_with(HttpOptions::default().max_in_flight(2)).await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: kcl\r\nconnection: close\r\n\r\n");
    assert_eq!(status(&addr, &get("/health")).await, Some(200));
    // Two authenticated requests whose bodies are slow to come hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(
            format!(
                "POST /api/books HTTP/1.1\r\nHost: kcl\r\nauthorization: Bearer {}\r\n\
                 content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{",
                token(Role::Admin)
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Before, /health said 200 while every request got 503 overloaded.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(get("/health").as_bytes()).await.unwrap();
    let (code, text) = answer(&mut s).await;
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("\"capacity\""), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert_eq!(status(&addr, &get("/health/live")).await, Some(200));
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&addr, &get("/health")).await, Some(200));
}
