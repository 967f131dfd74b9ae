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
    let mut options = HttpOptions::default().auth(AuthSettings::new(SECRET.to_vec()).unwrap());
    options.max_in_flight = 32;
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
    let token = TokenIssuer::hs256(SECRET).issue("reader", Role::Reader, Duration::from_secs(300));
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
