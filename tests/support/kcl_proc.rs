//! Real `kcl` processes for the facade's fault tests, and HTTP/1.1 over a fresh
//! connection per request (a crash breaks only what was in flight). Used through
//! `#[path = "support/kcl_proc.rs"] mod kcl_proc;`.
#![allow(dead_code)] // each test binary uses part of it

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP answer.
pub(crate) struct Resp {
    /// The status code.
    pub(crate) status: u16,
    /// The head (status line and headers).
    pub(crate) head: String,
    /// The body (de-chunked).
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request with the admin token; `Err` when there is no complete answer (a
/// refused connection, a crash mid-request, 60 s without an answer).
pub(crate) async fn http(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<Resp> {
    let exchange = async {
        let mut sock = tokio::net::TcpStream::connect(addr).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(body).await?;
        let mut buf = Vec::new();
        sock.read_to_end(&mut buf).await?;
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no complete response head"))?;
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
        let rest = buf[split + 4..].to_vec();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(&rest)?
        } else {
            rest
        };
        Ok(Resp { status, head, body })
    };
    tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// A chunked body; an error when it breaks off (the server died while sending).
fn dechunk(mut s: &[u8]) -> std::io::Result<Vec<u8>> {
    let cut = || std::io::Error::other("chunked body cut short");
    let mut out = Vec::new();
    loop {
        let eol = s.windows(2).position(|w| w == b"\r\n").ok_or_else(cut)?;
        let size = std::str::from_utf8(&s[..eol]).map_err(|_| cut())?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| cut())?;
        if n == 0 {
            return Ok(out);
        }
        let data = s.get(eol + 2..eol + 2 + n).ok_or_else(cut)?;
        out.extend_from_slice(data);
        s = s.get(eol + 2 + n + 2..).ok_or_else(cut)?;
    }
}

/// `kcl serve` or `kcl worker`, its output appended to a log file.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) what: &'static str,
    /// The HTTP server's address (the worker's health listener for a worker).
    pub(crate) addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `kcl` binary of this build, with no KCL_* variable of this process and
/// `KCL_LOG=warn`.
pub(crate) fn kcl_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kcl"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KCL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("KCL_LOG", "warn");
    cmd
}

/// Stops a child gracefully: SIGTERM, up to 10 s to exit, then SIGKILL.
pub(crate) fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Starts `kcl serve` (`what` = "serve") or `kcl worker`, with no KCL_* variable of
/// this process but `env`, and `KCL_CRASH_AT` when `crash_at` is given; waits until
/// it answers `/health` with 200.
pub(crate) async fn start(
    what: &'static str,
    env: &[(String, String)],
    crash_at: Option<&str>,
    log: &Path,
) -> Proc {
    let addr = free_port();
    let mut cmd = kcl_command();
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    writeln!(
        &out,
        "==== kcl {what} on {addr}, KCL_CRASH_AT={}",
        crash_at.unwrap_or("-")
    )
    .ok();
    cmd.arg(what)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out);
    if what == "serve" {
        cmd.env("KCL_HTTP_ADDR", addr.to_string());
    } else {
        cmd.env("KCL_WORKER_ADDR", addr.to_string());
    }
    if let Some(point) = crash_at {
        cmd.env("KCL_CRASH_AT", point);
    }
    let mut child = cmd.spawn().expect("the kcl binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // A crash point on the worker's path may fire before /health answers
            // (a backlog of tasks): that is a start, and the round sees the exit.
            if status.signal() == Some(SIGABRT) {
                break;
            }
            panic!("kcl {what} exited at start ({status}):\n{}", log_tail(log));
        }
        if let Ok(r) = http(addr, "", "GET", "/health", "text/plain", b"").await {
            if r.status == 200 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "kcl {what} not ready in 60 s:\n{}",
            log_tail(log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Proc { child, what, addr }
}

/// What `std::process::abort` (a crash point) ends a process with.
pub(crate) const SIGABRT: i32 = 6;
/// What `kill -9` ends a process with.
pub(crate) const SIGKILL: i32 = 9;
