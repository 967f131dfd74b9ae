//! Clients behind a real reverse proxy: HAProxy (Debian's `haproxy`), started by the
//! test on loopback in front of two KCL servers configured as a user would
//! (`KCL_TRUSTED_PROXIES`, `KCL_AUTH_USERS`, ... through [`kcl::http_options`]):
//!
//! - one trusts the proxy: 20 failed logins from one client (its `X-Forwarded-For`
//!   set by HAProxy) lock that client out and nobody else; the client's forged
//!   `X-Forwarded-For` entries do not help it; `X-Forwarded-Proto: https` from the
//!   proxy gives the session cookie `Secure`; the log span carries `client_ip`;
//! - the same server reached directly from an untrusted peer ignores a forged
//!   `X-Forwarded-For` (and `X-Forwarded-Proto`);
//! - the other trusts nothing (the default), which shows what the setting fixes:
//!   behind the proxy, one client's failures lock every client out.
//!
//! Clients are told apart by their source address on loopback (127.0.0.2, .3, .4).
//! Skipped with a printed reason when `haproxy` is not installed, unless
//! `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(feature = "http")]

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "trusted proxies test secret, 32+ bytes";
const PASSWORD: &str = "correct-horse-battery";

fn client(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

use kcl_core::testkit::services::skip;

/// The `haproxy` command: on the `PATH`, or where Debian puts it (`/usr/sbin` is on
/// root's `PATH` only).
fn haproxy_command() -> Option<std::path::PathBuf> {
    ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| Command::new(p).arg("-v").output().is_ok())
}

/// HAProxy, stopped when dropped.
struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts HAProxy with two frontends: `trusted` (which also says the client came
/// over HTTPS, as a proxy that terminates TLS does) to `trusting`, and `naive` to
/// `naive`. Returns it with the two frontends' addresses.
async fn start_haproxy(
    haproxy: &std::path::Path,
    trusting: SocketAddr,
    naive: SocketAddr,
) -> (Haproxy, SocketAddr, SocketAddr) {
    let (p1, p2) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global\n\
         \x20   maxconn 256\n\
         defaults\n\
         \x20   mode http\n\
         \x20   option forwardfor\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 30s\n\
         \x20   timeout server 30s\n\
         frontend trusted\n\
         \x20   bind 127.0.0.1:{p1}\n\
         \x20   http-request set-header X-Forwarded-Proto https\n\
         \x20   default_backend trusting\n\
         frontend naive\n\
         \x20   bind 127.0.0.1:{p2}\n\
         \x20   default_backend naive\n\
         backend trusting\n\
         \x20   server kcl {trusting}\n\
         backend naive\n\
         \x20   server kcl {naive}\n"
    );
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let check = Command::new(haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("haproxy -c");
    assert!(
        check.status.success(),
        "haproxy rejects its configuration: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
    let child = Command::new(haproxy)
        .arg("-db") // foreground
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start haproxy");
    let mut proxy = Haproxy { child, _dir: dir };
    let (a1, a2) = (
        SocketAddr::from(([127, 0, 0, 1], p1)),
        SocketAddr::from(([127, 0, 0, 1], p2)),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for addr in [a1, a2] {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                let log = std::fs::read_to_string(proxy._dir.path().join("haproxy.log"));
                panic!("haproxy exited: {status}: {}", log.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "haproxy did not listen in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (proxy, a1, a2)
}

/// A KCL server on the in-memory adapters, configured from these variables as
/// `kcl serve` would be, on a random loopback port.
async fn start_kcl(users_file: &std::path::Path, extra: &[(&str, &str)]) -> SocketAddr {
    let mut vars: HashMap<String, String> = [
        ("KCL_DATABASE_URL", "memory://"),
        ("KCL_BLOBS", "memory://"),
        ("KCL_QUEUE", "memory://"),
        ("KCL_AUTH_JWT_SECRET", SECRET),
        ("KCL_AUTH_USERS", users_file.to_str().unwrap()),
        ("KCL_AUTH_COOKIE_SECURE", "off"),
        ("KCL_METRICS", "off"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = kcl::Config::from_vars(&vars).expect("configuration");
    let options = kcl::http_options(&config).expect("http options");
    let kcl = kcl::Kcl::open(&config).await.expect("open");
    let router = kcl::http::router_with(kcl.services.clone(), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _kcl = kcl;
        kcl::http::serve(listener, router, std::future::pending())
            .await
            .expect("serve");
    });
    addr
}

struct Reply {
    status: u16,
    head: String,
}

/// `POST /login` from source address `from` to `to`, with extra header lines.
async fn login(from: IpAddr, to: SocketAddr, user: &str, password: &str, extra: &str) -> Reply {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback source address");
    let mut stream = socket.connect(to).await.expect("connect");
    let body = format!("username={user}&password={password}&next=/");
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: kcl.example\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply { status, head }
}

fn set_cookie(r: &Reply) -> String {
    r.head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default()
        .to_owned()
}

/// Fails 20 logins from `from` through `to`, each as another unknown user (a user's
/// own limit is 5), with `extra` header lines built from the attempt's number.
async fn fail_20(from: IpAddr, to: SocketAddr, extra: impl Fn(usize) -> String) {
    for i in 0..20 {
        let r = login(from, to, &format!("nobody{i}"), "wrong", &extra(i)).await;
        assert_eq!(r.status, 401, "attempt {i} from {from}: {}", r.head);
    }
}

/// The log lines, for checking the request span's fields.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_reverse_proxy_are_told_apart() {
    let Some(haproxy) = haproxy_command() else {
        return skip("haproxy is not installed (apt-get install haproxy)");
    };
    if std::net::TcpListener::bind((client(2), 0)).is_err() {
        return skip("this system cannot use 127.0.0.2 as a source address");
    }
    let logs = Logs::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let users = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        users.path(),
        format!(
            "ana:admin:{}\n",
            kcl::http::auth::hash_password(PASSWORD).unwrap()
        ),
    )
    .unwrap();
    let trusting = start_kcl(
        users.path(),
        &[("KCL_TRUSTED_PROXIES", "127.0.0.1/32, ::1")],
    )
    .await;
    let naive = start_kcl(users.path(), &[]).await;
    let (_haproxy, proxied, proxied_naive) = start_haproxy(&haproxy, trusting, naive).await;
    let (a, b, direct) = (client(2), client(3), client(4));

    // Client A fails 20 logins through the proxy, each time also forging an
    // `X-Forwarded-For` of its own (HAProxy adds its header after the client's).
    fail_20(a, proxied, |i| {
        format!("X-Forwarded-For: 198.51.100.{i}\r\n")
    })
    .await;
    // A is locked out, even with the right password and yet another forged address.
    let r = login(
        a,
        proxied,
        "ana",
        PASSWORD,
        "X-Forwarded-For: 198.51.100.99\r\n",
    )
    .await;
    assert_eq!(r.status, 429, "A is throttled: {}", r.head);
    // Client B, through the same proxy, is not.
    let r = login(b, proxied, "ana", PASSWORD, "").await;
    assert_eq!(r.status, 303, "B logs in: {}", r.head);
    // HAProxy said the client came over HTTPS: the cookie is `Secure` although
    // KCL_AUTH_COOKIE_SECURE=off.
    let cookie = set_cookie(&r);
    assert!(
        cookie.contains("kcl_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );

    // A peer that is not a trusted proxy forges `X-Forwarded-For` (a new address at
    // each attempt) straight to the server: the header is ignored, the peer counted.
    fail_20(direct, trusting, |i| {
        format!("X-Forwarded-For: 203.0.113.{i}\r\nX-Forwarded-Proto: https\r\n")
    })
    .await;
    let forged = "X-Forwarded-For: 203.0.113.200\r\n";
    let r = login(direct, trusting, "ana", PASSWORD, forged).await;
    assert_eq!(r.status, 429, "the forging peer is throttled: {}", r.head);
    // Nor does a forged `X-Forwarded-Proto` make its cookies `Secure`.
    let r = login(
        client(5),
        trusting,
        "ana",
        PASSWORD,
        "X-Forwarded-Proto: https\r\n",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.head);
    assert!(!set_cookie(&r).contains("Secure"), "{}", set_cookie(&r));
    // B, through the proxy, still logs in.
    let r = login(b, proxied, "ana", PASSWORD, "").await;
    assert_eq!(r.status, 303, "B still logs in: {}", r.head);

    // The request log span carries the client's address, not the proxy's.
    let text = logs.text();
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("failed login"))
        .collect();
    assert!(
        failed.iter().any(|l| l.contains("client_ip=127.0.0.2")),
        "A's address in the log: {text}"
    );
    assert!(failed.iter().any(|l| l.contains("client_ip=127.0.0.4")));
    assert!(
        !text.contains("client_ip=198.51.100.") && !text.contains("client_ip=203.0.113."),
        "a forged address in the log: {text}"
    );

    // Without KCL_TRUSTED_PROXIES every client behind the proxy has the proxy's
    // address: A's failures lock B out too. This is what the setting is for.
    fail_20(a, proxied_naive, |_| String::new()).await;
    let r = login(b, proxied_naive, "ana", PASSWORD, "").await;
    assert_eq!(r.status, 429, "behind a proxy nobody trusts: {}", r.head);
    assert!(
        logs.text()
            .lines()
            .any(|l| l.contains("failed login") && l.contains("client_ip=127.0.0.1")),
        "the proxy's address, logged by the server that trusts nothing"
    );
}
