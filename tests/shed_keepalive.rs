//! A request shed for load (`503 overloaded`) leaves its connection usable: the
//! server reads what is left of a small body before answering, so the next request
//! on the same keep-alive connection is served. Before, the connection was closed
//! with the body unread, which resets it: behind HAProxy, `tests/cluster_load.rs`
//! saw requests after shed uploads fail with "connection closed before message
//! completed", and a shed upload's own 503 lost (HAProxy's `SD--`). A body too
//! large to read is not read: the answer says the connection closes.
#![cfg(feature = "http")]

use std::time::Duration;

use kcl::http::auth::{AuthSettings, Role, TokenIssuer};
use kcl::http::{router_with, serve, HttpOptions};
use kcl_core::memory::MemoryBackend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &[u8] = b"an hs256 secret of thirty-two bytes or more";

fn token() -> String {
    TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "staff",
        Role::Admin,
        Duration::from_secs(300),
    )
}

/// A server with one upload slot on a random port.
async fn server() -> String {
    let mut options = HttpOptions::default().auth(AuthSettings::new(SECRET.to_vec()).unwrap());
    options.max_uploads = 1;
    let app = router_with(MemoryBackend::new().services(), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, app, std::future::pending()));
    addr
}

/// The head of a cover upload of `len` bytes.
fn upload_head(len: usize) -> String {
    format!(
        "POST /api/books/{}/cover HTTP/1.1\r\nHost: kcl\r\nauthorization: Bearer {}\r\n\
         content-type: image/jpeg\r\ncontent-length: {len}\r\n\r\n",
        uuid::Uuid::new_v4(),
        token()
    )
}

/// Reads one response (its body by `content-length`): status and head.
async fn response<R: AsyncRead + Unpin>(s: &mut R) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let status = head[9..12].parse().unwrap();
                    return (status, head);
                }
            }
            let n = s
                .read(&mut chunk)
                .await
                .expect("the connection stays readable");
            assert!(
                n > 0,
                "the server closed the connection: {}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("an answer within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shed_upload_leaves_its_connection_usable() {
    let addr = server().await;
    // The only upload slot, held by an upload whose body is still coming.
    let mut holder = TcpStream::connect(&addr).await.unwrap();
    holder
        .write_all(format!("{}\u{ff}", upload_head(100_000)).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A 512 KiB upload, sent whole: shed, then the same connection lists books.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(upload_head(512 * 1024).as_bytes())
        .await
        .unwrap();
    let body = vec![0xffu8; 512 * 1024];
    let (mut read_half, mut write_half) = s.split();
    let (sent, (status, head)) =
        tokio::join!(write_half.write_all(&body), response(&mut read_half));
    sent.expect("the body is taken");
    assert_eq!(status, 503, "{head}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    s.write_all(
        format!(
            "GET /api/books HTTP/1.1\r\nHost: kcl\r\nauthorization: Bearer {}\r\n\r\n",
            token()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (status, head) = response(&mut s).await;
    assert_eq!(status, 200, "the next request on the connection: {head}");

    // A body too large to read (4 MiB declared) is not read: the 503 says the
    // connection closes.
    let mut big = TcpStream::connect(&addr).await.unwrap();
    big.write_all(upload_head(4 * 1024 * 1024).as_bytes())
        .await
        .unwrap();
    let (status, head) = response(&mut big).await;
    assert_eq!(status, 503, "{head}");
    assert!(head.contains("connection: close"), "{head}");
    drop(holder);
}
