//! Processes for the fault and load suites (`tests/service_faults.rs`,
//! `tests/cluster_load.rs`): `kcl serve` on the AWS profile as a user starts it,
//! private PostgreSQL, Redis and moto servers a test may restart or freeze
//! (SIGSTOP/SIGCONT) without touching the shared ones of `scripts/services.sh`,
//! HAProxy, and a keep-alive HTTP client with a deadline on every request.
//! Used through `#[path = "support/cluster.rs"] mod cluster;`.
#![allow(dead_code)] // each test binary uses part of it

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, Request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kcl_core::testkit::services::skip;
use serde_json::Value;

/// A number from the environment (the long forms' knobs), else `default`.
pub(crate) fn knob(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`, `KILL`) to process `pid`.
pub(crate) fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{signal} {pid} failed");
}

/// A child process, stopped (SIGCONT, then SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) name: String,
}

impl Proc {
    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics with `log`'s tail when the process has exited.
    pub(crate) fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited: {status}\n{}", self.name, tail(log, 40));
        }
    }

    /// The resident set size, in KiB (`VmRSS` of `/proc/PID/status`).
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // A frozen process must run again to see the SIGTERM.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.pid().to_string())
            .status();
        let _ = Command::new("kill").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a log file.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits until `addr` accepts TCP connections, or panics after `limit`.
pub(crate) async fn wait_listening(addr: SocketAddr, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------
// kcl serve

/// A `kcl serve` process (the `kcl` binary of this build, or `KCL_CLUSTER_KCL_BIN`
/// for the long form's release build), its address and its log.
pub(crate) struct Kcl {
    pub(crate) proc: Proc,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

/// The `kcl` binary: `KCL_CLUSTER_KCL_BIN` when set, else this build's.
pub(crate) fn kcl_bin() -> PathBuf {
    std::env::var_os("KCL_CLUSTER_KCL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kcl")))
}

impl Kcl {
    /// Starts `kcl serve` on a free port with only these `KCL_*` variables (and the
    /// given others), logging to `dir/<name>.log`; waits until `/health/live`
    /// answers.
    pub(crate) async fn start(name: &str, dir: &Path, env: &[(String, String)]) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(kcl_bin());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("KCL_") || k.starts_with("AWS_") {
                cmd.env_remove(&*k);
            }
        }
        cmd.arg("serve")
            .env("KCL_HTTP_ADDR", addr.to_string())
            .env("KCL_LOG", "warn")
            .env("OMP_THREAD_LIMIT", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        let child = cmd.spawn().expect("start kcl serve");
        let mut kcl = Self {
            proc: Proc {
                child,
                name: format!("kcl serve ({name})"),
            },
            addr,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            kcl.proc.assert_running(&kcl.log);
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return kcl;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen in 90 s\n{}",
                kcl.proc.name,
                tail(&kcl.log, 40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://ADDR`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The variables of the AWS profile: `database_url`, S3 blobs, an SQS queue (or
/// PostgreSQL's when `sqs` is false) and a DynamoDB table named after `tag` on the
/// emulator at `aws`, the cache at `redis`, and the shared token secret.
pub(crate) fn aws_profile(
    database_url: &str,
    aws: &str,
    redis: &str,
    tag: &str,
    sqs: bool,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("KCL_DATABASE_URL", database_url.to_owned()),
        ("KCL_BLOBS", format!("s3://kcl-{tag}/media")),
        ("KCL_AUDIT", format!("dynamodb://kcl-{tag}")),
        ("KCL_CACHE_URL", redis.to_owned()),
        ("KCL_AUTO_PROVISION", "1".to_owned()),
        ("KCL_AUTH_JWT_SECRET", SECRET.to_owned()),
        ("AWS_ENDPOINT_URL", aws.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if sqs {
        env.push(("KCL_QUEUE".into(), format!("sqs://kcl-{tag}")));
    }
    env
}

/// A short random tag for bucket, queue, table and database names.
pub(crate) fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// The servers' shared HS256 secret (test only).
pub(crate) const SECRET: &str = "fault and load suite secret, 32 bytes or more";

/// An admin bearer token every server of a test accepts.
pub(crate) fn admin_token() -> String {
    kcl::http::auth::TokenIssuer::hs256(SECRET.as_bytes())
        .expect("an HS256 secret")
        .issue(
            "fault-suite",
            kcl::http::auth::Role::Admin,
            Duration::from_secs(6 * 3600),
        )
}

// ---------------------------------------------------------------------------------
// A private PostgreSQL cluster

/// The newest `/usr/lib/postgresql/*/bin` holding `initdb`.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL cluster of the test's own (`initdb` into a temporary folder, on a
/// free port, `fsync=off`), which it may restart; stopped when dropped. As root
/// (PostgreSQL refuses to run as root) it runs as the `postgres` user, as
/// `scripts/services.sh` runs its clusters.
pub(crate) struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub(crate) port: u16,
}

impl PrivatePg {
    /// Initialises and starts a cluster, or `None` (skipped) when PostgreSQL's
    /// programs are not installed.
    pub(crate) fn start() -> Option<Self> {
        let Some(bin) = pg_bin() else {
            skip("PostgreSQL's programs are not installed (/usr/lib/postgresql/*/bin)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kcl-faults-pg-")
            .tempdir()
            .expect("tempdir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown postgres {}", dir.path().display());
        }
        let pg = Self {
            dir,
            bin,
            port: free_port(),
        };
        pg.run(&format!(
            "'{}' -D '{}' -A trust -U postgres >/dev/null",
            pg.bin.join("initdb").display(),
            pg.data().display()
        ));
        pg.ctl("start");
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a shell command line, as `postgres` when root.
    fn run(&self, line: &str) {
        let out = if is_root() {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", line])
                .output()
        } else {
            Command::new("sh").args(["-c", line]).output()
        }
        .expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{line}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.data().join("log"), 20)
        );
    }

    /// `pg_ctl ACTION` (with `start`'s options: this port, sockets in the folder).
    pub(crate) fn ctl(&self, action: &str) {
        self.run(&format!(
            "'{}' -D '{}' -w -t 60 -l '{}' -o \"-h 127.0.0.1 -p {} -k '{}' -c fsync=off\" {action}",
            self.bin.join("pg_ctl").display(),
            self.data().display(),
            self.data().join("log").display(),
            self.port,
            self.dir.path().display(),
        ));
    }

    /// The URL of its `postgres` database.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let line = format!(
            "'{}' -D '{}' -w -m immediate stop >/dev/null 2>&1",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        let _ = if is_root() {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", &line])
                .status()
        } else {
            Command::new("sh").args(["-c", &line]).status()
        };
    }
}

// ---------------------------------------------------------------------------------
// A private Redis

/// A `redis-server` of the test's own on a free port (nothing on disk), which it
/// may freeze; stopped when dropped.
pub(crate) struct PrivateRedis {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// Starts one, or `None` (skipped) when `redis-server` is not installed.
    pub(crate) async fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            skip("redis-server is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Self {
            proc: Proc {
                child,
                name: "redis-server".into(),
            },
            port,
            _dir: dir,
        };
        wait_listening(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(20),
            "redis-server",
        )
        .await;
        Some(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

// ---------------------------------------------------------------------------------
// A private moto

/// The AWS emulator (`scripts/moto_server.py` in the virtualenv `scripts/services.sh`
/// installs) on a free port, which the test may freeze (never restart: it keeps
/// its state in memory only); stopped when dropped.
pub(crate) struct PrivateMoto {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivateMoto {
    /// Starts one, or `None` (skipped) when the virtualenv is missing.
    pub(crate) async fn start() -> Option<Self> {
        let services = std::env::var_os("KCL_SERVICES_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/kcl-services")))
            .unwrap_or_default();
        let venv = services.join("moto-venv/bin/python");
        // The virtualenv of scripts/services.sh, else a system Python with moto.
        let python = if venv.exists() {
            venv
        } else if Command::new("python3")
            .args(["-c", "import moto.server"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            PathBuf::from("python3")
        } else {
            skip(format!(
                "no moto: neither the virtualenv {} (scripts/services.sh start makes it) \
                 nor a python3 that imports moto",
                venv.display()
            ));
            return None;
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/moto_server.py");
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let child = Command::new(python)
            .arg(script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("moto log"))
            .spawn()
            .expect("start moto");
        let mut moto = Self {
            proc: Proc {
                child,
                name: "moto".into(),
            },
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = Http::new(&moto.endpoint(), None);
        loop {
            moto.proc.assert_running(&moto.log);
            if let Ok(r) = client
                .send(
                    Method::GET,
                    "/moto-api/",
                    None,
                    Bytes::new(),
                    Duration::from_secs(5),
                )
                .await
            {
                if r.status == 200 {
                    return Some(moto);
                }
            }
            assert!(Instant::now() < deadline, "moto did not start in 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

// ---------------------------------------------------------------------------------
// HAProxy

/// The `haproxy` command: on the `PATH`, or where Debian puts it.
pub(crate) fn haproxy_command() -> Option<PathBuf> {
    ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| Command::new(p).arg("-v").output().is_ok())
}

/// HAProxy in front of `servers` (round robin, health-checked on `/health/live`,
/// `X-Forwarded-For` added) on a free port; stopped when dropped.
pub(crate) struct Haproxy {
    pub(crate) proc: Proc,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

impl Haproxy {
    /// Starts it with this `maxconn` per server.
    pub(crate) async fn start(
        haproxy: &Path,
        dir: &Path,
        servers: &[SocketAddr],
        maxconn: usize,
    ) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let backends: String = servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!("    server kcl{i} {s} check inter 1s fall 2 rise 1 maxconn {maxconn}\n")
            })
            .collect();
        let config = format!(
            "global\n\
             \x20   maxconn 1500\n\
             \x20   log stderr format raw local0\n\
             defaults\n\
             \x20   log global\n\
             \x20   option httplog\n\
             \x20   mode http\n\
             \x20   option forwardfor\n\
             \x20   option http-keep-alive\n\
             \x20   timeout connect 5s\n\
             \x20   timeout client 60s\n\
             \x20   timeout server 60s\n\
             \x20   timeout queue 30s\n\
             frontend kcl\n\
             \x20   bind {addr}\n\
             \x20   default_backend kcl\n\
             backend kcl\n\
             \x20   balance roundrobin\n\
             \x20   option httpchk GET /health/live\n\
             \x20   http-check expect status 200\n\
             {backends}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("haproxy.cfg");
        let check = Command::new(haproxy)
            .args(["-c", "-f"])
            .arg(&path)
            .output()
            .expect("haproxy -c");
        assert!(
            check.status.success(),
            "haproxy rejects its configuration: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let log = dir.join("haproxy.log");
        let child = Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("haproxy log"))
            .spawn()
            .expect("start haproxy");
        let mut proxy = Self {
            proc: Proc {
                child,
                name: "haproxy".into(),
            },
            addr,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            proxy.proc.assert_running(&proxy.log);
            assert!(Instant::now() < deadline, "haproxy did not listen in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proxy
    }
}

// ---------------------------------------------------------------------------------
// HTTP

/// An answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON (`Null` when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Retry-After` in seconds.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether this is the answer a client can act on during a dependency's fault:
    /// `503` with `Retry-After` and a problem document with a code.
    pub(crate) fn is_clear_503(&self) -> bool {
        self.status == 503
            && self.retry_after().is_some_and(|s| (1..=300).contains(&s))
            && self
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/problem+json"))
            && self.json()["code"].as_str().is_some_and(|c| !c.is_empty())
    }

    /// Status, code and detail, for messages.
    pub(crate) fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        format!(
            "{} (retry-after {:?}) {body}",
            self.status,
            self.header("retry-after")
        )
    }
}

/// A keep-alive HTTP/1.1 client for one base URL, with an admin token (when given)
/// on every request and a deadline on each.
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

impl Http {
    /// A client of `base` (`http://host:port`).
    pub(crate) fn new(base: &str, token: Option<String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// One request; `Err` on a transport failure or when no full answer came within
    /// `limit`.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
        limit: Duration,
    ) -> Result<Reply, String> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let call = async {
            let res = self.client.request(req).await.map_err(|e| {
                let mut text = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    src = s.source();
                }
                text
            })?;
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the body: {e}"))?
                .to_bytes();
            Ok(Reply {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(limit, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("{method} {path}: no answer within {limit:?}")),
        }
    }

    /// A GET that must be answered within 60 s.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(
            Method::GET,
            path,
            None,
            Bytes::new(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// A JSON request that must be answered within 60 s.
    pub(crate) async fn json(&self, method: Method, path: &str, body: &Value) -> Reply {
        self.send(
            method.clone(),
            path,
            Some("application/json"),
            Bytes::from(body.to_string()),
            Duration::from_secs(60),
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

// ---------------------------------------------------------------------------------
// Acknowledged writes

/// What the servers acknowledged, to be found again afterwards.
#[derive(Debug, Default, Clone)]
pub(crate) struct Acked {
    /// Books created with 201: id → (title, copies).
    pub(crate) books: HashMap<String, (String, u32)>,
    /// Rentals created with 201: id → book id.
    pub(crate) rentals: HashMap<String, String>,
    /// Rentals whose return was acknowledged (200).
    pub(crate) returned: Vec<String>,
    /// Book id → the version and title of its latest acknowledged update.
    pub(crate) updated: HashMap<String, (u64, String)>,
    /// Object keys of accepted covers (202).
    pub(crate) covers: Vec<String>,
    /// (store, lines) of loaded sales files (201), one store per file.
    pub(crate) sales: Vec<(String, u32)>,
}

impl Acked {
    /// Records an acknowledged update of book `id` to `version` with `title`
    /// (answers may be recorded out of order: the highest version wins).
    pub(crate) fn updated(&mut self, id: &str, version: u64, title: String) {
        let entry = self
            .updated
            .entry(id.to_owned())
            .or_insert((0, String::new()));
        if version > entry.0 {
            *entry = (version, title);
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Checks, through `http`, that every acknowledged write is there (a book's last
/// acknowledged title, rentals, returns, loaded sales files), that each book's
/// `available` equals its copies minus its active rentals (by the server's own
/// rental list), and that queued work completes: every accepted cover reaches
/// `DONE` (or `ERROR` for being replaced by a newer upload first) and each book's
/// current cover has its thumbnail, within 180 s plus a quarter second per cover.
pub(crate) async fn verify(http: &Http, acked: &Acked) {
    let Acked {
        books,
        rentals,
        returned,
        updated,
        covers,
        sales,
    } = acked;
    for (id, (title, copies)) in books {
        let r = http.get(&format!("/api/books/{id}")).await;
        assert_eq!(
            r.status,
            200,
            "acknowledged book {id} is gone: {}",
            r.describe()
        );
        let b = r.json();
        // The latest acknowledged version, or a later one (an update whose answer
        // was lost in the fault may have committed).
        let (version, expected) = updated.get(id).map_or((1, title), |(v, t)| (*v, t));
        let served = b["version"].as_u64().expect("a version");
        assert!(
            served >= version,
            "book {id}: acknowledged version {version} lost, {served} served: {b}"
        );
        if served == version {
            assert_eq!(b["title"], serde_json::json!(expected), "book {id}: {b}");
        }
        // Rentals equal copies minus active, by the server's own rental list.
        let mut active = 0u64;
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/rentals?book_id={id}&limit=100");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", encode(c)));
            }
            let page = http.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.describe());
            let page = page.json();
            active += page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|r| r["returned_at"].is_null())
                .count() as u64;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(
            b["available"].as_u64(),
            Some(u64::from(*copies) - active),
            "book {id}: available = copies - active rentals ({active}): {b}"
        );
    }
    for (rid, book_id) in rentals {
        let r = http.get(&format!("/api/rentals/{rid}")).await;
        assert_eq!(r.status, 200, "acknowledged rental {rid} is gone");
        assert_eq!(r.json()["book_id"], serde_json::json!(book_id));
        if returned.contains(rid) {
            assert!(
                !r.json()["returned_at"].is_null(),
                "acknowledged return of {rid} is lost"
            );
        }
    }
    for (store, lines) in sales {
        let r = http
            .get(&format!("/api/sales/summary?store={store}&group_by=store"))
            .await;
        assert_eq!(r.status, 200, "{}", r.describe());
        assert_eq!(
            r.json()["rows"][0]["lines"].as_u64(),
            Some(u64::from(*lines)),
            "loaded sales file of {store}: {}",
            r.describe()
        );
    }
    // Queued work completes: every accepted cover is thumbnailed.
    let limit = Duration::from_secs(180) + Duration::from_millis(250) * covers.len() as u32;
    let deadline = Instant::now() + limit;
    for key in covers {
        loop {
            let r = http
                .get(&format!("/api/processing?key={}", encode(key)))
                .await;
            let s = r.json();
            match s["status"].as_str() {
                Some("DONE") => break,
                // A cover replaced by a newer upload before its turn came.
                Some("ERROR")
                    if s["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("replaced by a newer cover")) =>
                {
                    break
                }
                Some("ERROR") => panic!("cover {key} failed: {s}"),
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "cover {key} not done within {limit:?}: {}",
                r.describe()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    // Each book's current cover (the newest upload) has its thumbnail.
    let with_cover: std::collections::HashSet<&str> =
        covers.iter().filter_map(|k| k.split('/').nth(1)).collect();
    for id in &with_cover {
        loop {
            let r = http.get(&format!("/api/books/{id}/cover/thumb")).await;
            if matches!(r.status, 200 | 307) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "book {id} has no thumbnail within {limit:?}: {}",
                r.describe()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    println!(
        "verified: {} books, {} rentals ({} returned), {} updates, {} covers DONE, {} sales files",
        books.len(),
        rentals.len(),
        returned.len(),
        updated.len(),
        covers.len(),
        sales.len()
    );
}

// ---------------------------------------------------------------------------------
// Request bodies

/// A valid ISBN-13 from a number (978 + nine digits + the check digit).
pub(crate) fn isbn(n: u64) -> String {
    let body = format!("978{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A new book's JSON: title `{word} {n}`, `copies` copies, a unique ISBN from `n`.
pub(crate) fn book(n: u64, word: &str, copies: u32) -> Value {
    serde_json::json!({
        "title": format!("{word} {n}"), "author": "Machado de Assis",
        "isbn": isbn(n), "category": "Romance", "year": 1899,
        "price_cents": 3990, "copies": copies
    })
}

/// A small photographic-ish JPEG of `w`×`h`.
pub(crate) fn jpeg(w: u32, h: u32, seed: u32) -> Bytes {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            ((x + seed) % 256) as u8,
            ((y * 3 + seed) % 256) as u8,
            ((x * y + seed) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode a JPEG");
    Bytes::from(out.into_inner())
}

/// A sales CSV for store `store`: `lines` lines on `day`, unique content.
pub(crate) fn sales_csv(store: &str, day: &str, lines: u32) -> Bytes {
    let mut csv = String::from("store_id,sale_date,receipt_id,sku,quantity,unit_price\n");
    for i in 0..lines {
        csv.push_str(&format!("{store},{day},r{i},SKU-{},1,2.50\n", i % 7));
    }
    Bytes::from(csv)
}
