//! Three `kcl serve` processes on the AWS profile (one PostgreSQL database, one
//! Redis, S3, SQS and DynamoDB on the moto emulator) behind a real HAProxy on
//! loopback, with `KCL_TRUSTED_PROXIES` naming it, under a mixed load for a bounded
//! time: book reads, listings, searches, rentals and returns, new books, updates,
//! cover uploads and sales files, from many keep-alive connections at once.
//!
//! Checked: no answer but the expected ones (`409` where a conflict is possible, and
//! `503` with `Retry-After` when a server sheds load), no other 5xx, no transport
//! failure; afterwards every acknowledged write is there, rentals equal copies minus
//! active, every accepted cover is thumbnailed. Printed: requests/s, p50/p99 and
//! answers per request kind, the same figures for `/health/live` through the same
//! HAProxy (the reference), and each server's RSS over time. RSS is reported, not
//! asserted.
//!
//! Bounded for CI (8 connections, 10 s). `scripts/bench-cluster.sh` runs the long
//! form with a release `kcl` (knobs: `KCL_CLUSTER_SECS`, `KCL_CLUSTER_WARMUP_SECS`,
//! `KCL_CLUSTER_CONNECTIONS`, `KCL_CLUSTER_BOOKS`, `KCL_CLUSTER_REFERENCE_SECS`,
//! `KCL_CLUSTER_MAX_IN_FLIGHT`, `KCL_CLUSTER_MAX_UPLOADS`, `KCL_CLUSTER_KCL_BIN`, `KCL_CLUSTER_PRIVATE_MOTO=1` for
//! an emulator of the run's own, `KCL_CLUSTER_DYNAMODB=0` to keep the audit log in
//! PostgreSQL). Needs `KCL_TEST_POSTGRES_URL`,
//! `KCL_TEST_REDIS_URL`, `KCL_TEST_AWS_ENDPOINT` and `haproxy`; skipped when one is
//! missing unless `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(all(feature = "cli", feature = "aws"))]

#[path = "support/cluster.rs"]
mod cluster;
use kcl_aws::testkit::TestDatabase;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::Method;
use bytes::Bytes;
use cluster::{
    admin_token, aws_profile, book, haproxy_command, jpeg, knob, sales_csv, tag, Acked, Haproxy,
    Http, Kcl, Reply,
};
use kcl_core::testkit::services::{self, skip};
use serde_json::json;

/// A request that gets no answer within this is a failure of the run.
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Op {
    Get,
    List,
    Search,
    Rent,
    Return,
    Create,
    Update,
    Cover,
    Sales,
    Live,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Get => "GET /api/books/{id}",
            Op::List => "GET /api/books?category=&limit=20",
            Op::Search => "GET /api/books?q=&limit=20",
            Op::Rent => "POST /api/rentals",
            Op::Return => "POST /api/rentals/{id}/return",
            Op::Create => "POST /api/books",
            Op::Update => "PUT /api/books/{id}",
            Op::Cover => "POST /api/books/{id}/cover (320x240 JPEG)",
            Op::Sales => "POST /api/sales/files (20 lines)",
            Op::Live => "GET /health/live",
        }
    }

    /// The success status, and whether a 409 is an expected answer.
    fn expects(self) -> (u16, bool) {
        match self {
            Op::Get | Op::List | Op::Search | Op::Return | Op::Live => (200, false),
            Op::Rent => (201, true),
            Op::Update => (200, true),
            Op::Create | Op::Sales => (201, false),
            Op::Cover => (202, false),
        }
    }
}

/// The mix, in percent.
const MIX: [(Op, u32); 9] = [
    (Op::Get, 32),
    (Op::List, 10),
    (Op::Search, 12),
    (Op::Rent, 15),
    (Op::Return, 10),
    (Op::Create, 5),
    (Op::Update, 6),
    (Op::Cover, 6),
    (Op::Sales, 4),
];

const WORDS: [&str; 6] = ["amor", "caminho", "mar", "sertao", "cidade", "noite"];
const CATEGORIES: [&str; 4] = ["Romance", "Poesia", "Contos", "Teatro"];

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    ok: u64,
    conflicts: u64,
    shed: u64,
    /// The problem codes of the 503s.
    shed_codes: BTreeMap<String, u64>,
    /// Answers that should not happen (other 4xx, other 5xx, a 503 without
    /// `Retry-After`), with a description.
    wrong: Vec<String>,
    /// Transport failures and requests without an answer within [`LIMIT`].
    failed: Vec<String>,
    other_5xx: u64,
}

struct Driver {
    http: Http,
    tag: String,
    counter: AtomicU64,
    stop: AtomicBool,
    /// Requests started before this are the warm-up: not counted.
    count_from: Mutex<Option<Instant>>,
    books: RwLock<Vec<String>>,
    open_rentals: Mutex<Vec<String>>,
    acked: Mutex<Acked>,
    stats: Mutex<BTreeMap<Op, Stats>>,
    cover: Bytes,
}

/// A pseudo-random number from a counter (SplitMix64): the mix is the same on
/// every run.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Driver {
    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn pick_book(&self, n: u64) -> Option<String> {
        let books = self.books.read().unwrap();
        (!books.is_empty())
            .then(|| books[(mix64(n ^ 0xb00c) % books.len() as u64) as usize].clone())
    }

    /// Sends one request of kind `op` and records its answer.
    async fn send(
        &self,
        op: Op,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Option<Reply> {
        let started = Instant::now();
        let res = self
            .http
            .send(method, path, content_type, body, LIMIT)
            .await;
        let took = started.elapsed();
        let counted = self
            .count_from
            .lock()
            .unwrap()
            .is_some_and(|from| started >= from);
        if !counted {
            return res.ok();
        }
        let mut stats = self.stats.lock().unwrap();
        let s = stats.entry(op).or_default();
        let (ok, conflicts) = op.expects();
        match &res {
            Err(e) => s.failed.push(format!("{path}: {e}")),
            Ok(r) => {
                s.latencies_us.push(took.as_micros() as u64);
                if r.status == ok {
                    s.ok += 1;
                } else if r.status == 409 && conflicts {
                    s.conflicts += 1;
                } else if r.is_clear_503() {
                    s.shed += 1;
                    let code = r.json()["code"].as_str().unwrap_or_default().to_owned();
                    *s.shed_codes.entry(code).or_default() += 1;
                } else {
                    if r.status >= 500 {
                        s.other_5xx += 1;
                    }
                    if s.wrong.len() < 20 {
                        s.wrong.push(format!("{path}: {}", r.describe()));
                    }
                }
            }
        }
        res.ok()
    }

    /// One request of the mix, chosen by the counter.
    async fn one(&self) {
        let n = self.next();
        let mut roll = (mix64(n) % 100) as u32;
        let op = MIX
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map_or(Op::Get, |(op, _)| *op);
        let json = |v: serde_json::Value| Bytes::from(v.to_string());
        match op {
            Op::Get => {
                let Some(id) = self.pick_book(n) else { return };
                self.send(
                    op,
                    Method::GET,
                    &format!("/api/books/{id}"),
                    None,
                    Bytes::new(),
                )
                .await;
            }
            Op::List => {
                let c = CATEGORIES[(n % 4) as usize];
                let path = format!("/api/books?category={c}&limit=20");
                self.send(op, Method::GET, &path, None, Bytes::new()).await;
            }
            Op::Search => {
                let w = WORDS[(n % 6) as usize];
                let path = format!("/api/books?q={w}&limit=20");
                self.send(op, Method::GET, &path, None, Bytes::new()).await;
            }
            Op::Rent => {
                let Some(id) = self.pick_book(n) else { return };
                let due = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
                let body = json!({"book_id": id, "renter": format!("r{n}"), "due_date": due});
                let r = self
                    .send(
                        op,
                        Method::POST,
                        "/api/rentals",
                        Some("application/json"),
                        json(body),
                    )
                    .await;
                if let Some(r) = r.filter(|r| r.status == 201) {
                    let rid = r.json()["id"].as_str().expect("a rental id").to_owned();
                    self.acked.lock().unwrap().rentals.insert(rid.clone(), id);
                    self.open_rentals.lock().unwrap().push(rid);
                }
            }
            Op::Return => {
                let rid = {
                    let mut open = self.open_rentals.lock().unwrap();
                    if open.is_empty() {
                        return;
                    }
                    let i = (mix64(n ^ 0x7e7) % open.len() as u64) as usize;
                    open.swap_remove(i)
                };
                let path = format!("/api/rentals/{rid}/return");
                let r = self.send(op, Method::POST, &path, None, Bytes::new()).await;
                if r.is_some_and(|r| r.status == 200) {
                    self.acked.lock().unwrap().returned.push(rid);
                }
            }
            Op::Create => {
                self.create(n).await;
            }
            Op::Update => {
                let Some(id) = self.pick_book(n) else { return };
                let Some(read) = self
                    .send(
                        Op::Get,
                        Method::GET,
                        &format!("/api/books/{id}"),
                        None,
                        Bytes::new(),
                    )
                    .await
                    .filter(|r| r.status == 200)
                else {
                    return;
                };
                let b = read.json();
                let title = format!("{} {} updated {n}", WORDS[(n % 6) as usize], self.tag);
                let body = json!({
                    "version": b["version"], "title": title, "author": b["author"],
                    "isbn": b["isbn"], "category": b["category"], "year": b["year"],
                    "price_cents": b["price_cents"], "copies": b["copies"],
                });
                let path = format!("/api/books/{id}");
                let r = self
                    .send(op, Method::PUT, &path, Some("application/json"), json(body))
                    .await;
                if let Some(r) = r.filter(|r| r.status == 200) {
                    let version = r.json()["version"].as_u64().expect("a version");
                    self.acked.lock().unwrap().updated(&id, version, title);
                }
            }
            Op::Cover => {
                let Some(id) = self.pick_book(n) else { return };
                let path = format!("/api/books/{id}/cover");
                let r = self
                    .send(
                        op,
                        Method::POST,
                        &path,
                        Some("image/jpeg"),
                        self.cover.clone(),
                    )
                    .await;
                if let Some(r) = r.filter(|r| r.status == 202) {
                    let key = r.json()["key"].as_str().expect("a key").to_owned();
                    self.acked.lock().unwrap().covers.push(key);
                }
            }
            Op::Sales => {
                let store = format!("L{}{n}", &self.tag[..6]);
                let path = format!("/api/sales/files?name={store}.csv");
                let r = self
                    .send(
                        op,
                        Method::POST,
                        &path,
                        Some("text/csv"),
                        sales_csv(&store, "2026-11-23", 20),
                    )
                    .await;
                if r.is_some_and(|r| r.status == 201) {
                    self.acked.lock().unwrap().sales.push((store, 20));
                }
            }
            Op::Live => {}
        }
    }

    /// Creates book `n` (1 to 4 copies, a title with one of [`WORDS`]).
    async fn create(&self, n: u64) -> bool {
        let copies = 1 + (n % 4) as u32;
        let mut b = book(
            u64::from_str_radix(&self.tag[..7], 16).unwrap_or(0) * 100_000 + n,
            &format!("{} {}", WORDS[(n % 6) as usize], self.tag),
            copies,
        );
        b["category"] = json!(CATEGORIES[(n % 4) as usize]);
        let r = self
            .send(
                Op::Create,
                Method::POST,
                "/api/books",
                Some("application/json"),
                Bytes::from(b.to_string()),
            )
            .await;
        match r.filter(|r| r.status == 201) {
            Some(r) => {
                let id = r.json()["id"].as_str().expect("an id").to_owned();
                self.acked.lock().unwrap().books.insert(
                    id.clone(),
                    (b["title"].as_str().unwrap().to_owned(), copies),
                );
                self.books.write().unwrap().push(id);
                true
            }
            None => false,
        }
    }
}

/// `(p50, p99)` of latencies in µs.
fn percentiles(lat: &mut [u64]) -> (Duration, Duration) {
    if lat.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    lat.sort_unstable();
    let at = |q: f64| Duration::from_micros(lat[((lat.len() - 1) as f64 * q).round() as usize]);
    (at(0.50), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Thousands separated by commas.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A table row: requests, requests/s, p50, p99, successes, 409s, 503 sheds, other 5xx.
fn row(label: &str, s: &mut Stats, secs: f64) -> String {
    let n = s.latencies_us.len() as u64 + s.failed.len() as u64;
    let (p50, p99) = percentiles(&mut s.latencies_us);
    format!(
        "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
        thousands(n),
        thousands((n as f64 / secs).round() as u64),
        ms(p50),
        ms(p99),
        thousands(s.ok),
        thousands(s.conflicts),
        thousands(s.shed),
        s.other_5xx + s.failed.len() as u64,
    )
}

/// CPU seconds (user + system) of process `pid`.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Seconds since the warm-up began, and each server's RSS in KiB.
type Sample = (f64, Vec<u64>);

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_behind_haproxy_hold_a_mixed_load() {
    let (Some(_), Some(redis), Some(aws)) = (
        services::postgres_url(),
        services::redis_url(),
        services::aws_endpoint(),
    ) else {
        return;
    };
    let Some(haproxy) = haproxy_command() else {
        return skip("haproxy is not installed (apt-get install haproxy)");
    };
    let secs = knob("KCL_CLUSTER_SECS", 10);
    let warmup = knob("KCL_CLUSTER_WARMUP_SECS", 2);
    let connections = knob("KCL_CLUSTER_CONNECTIONS", 8) as usize;
    let nbooks = knob("KCL_CLUSTER_BOOKS", 40);
    let reference_secs = knob("KCL_CLUSTER_REFERENCE_SECS", 3);
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let db_url = db.url().to_owned();
    // A fresh emulator of the run's own (the long form): the shared one slows down
    // as every test run's buckets and tables pile up in its memory.
    let private_moto = if knob("KCL_CLUSTER_PRIVATE_MOTO", 0) == 1 {
        let Some(m) = cluster::PrivateMoto::start().await else {
            return;
        };
        Some(m)
    } else {
        None
    };
    let aws = private_moto.as_ref().map_or(aws, |m| m.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let t = tag();
    let mut env = aws_profile(&db_url, &aws, &redis, &t, true);
    // KCL_CLUSTER_DYNAMODB=0: the audit log, statuses and daily totals in PostgreSQL
    // (moto copies a whole DynamoDB table at each TransactWriteItems, so with
    // DynamoDB on the emulator the emulator, not KCL, sets the pace of writes).
    if knob("KCL_CLUSTER_DYNAMODB", 1) == 0 {
        env.retain(|(k, _)| k != "KCL_AUDIT");
    }
    env.push(("KCL_TRUSTED_PROXIES".into(), "127.0.0.1/32, ::1".into()));
    if let Ok(v) = std::env::var("KCL_CLUSTER_MAX_IN_FLIGHT") {
        env.push(("KCL_HTTP_MAX_IN_FLIGHT".into(), v));
    }
    if let Ok(v) = std::env::var("KCL_CLUSTER_MAX_UPLOADS") {
        env.push(("KCL_HTTP_MAX_UPLOADS".into(), v));
    }
    // The first server provisions the bucket, queue and table; then the others.
    let mut servers = vec![Kcl::start("kcl0", dir.path(), &env).await];
    let first = Http::new(&servers[0].base(), Some(admin_token()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.get("/health").await.status != 200 {
        assert!(Instant::now() < deadline, "kcl0 not ready in 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 1..3 {
        servers.push(Kcl::start(&format!("kcl{i}"), dir.path(), &env).await);
    }
    let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
    let proxy = Haproxy::start(&haproxy, dir.path(), &addrs, 1000).await;
    let http = Http::new(&format!("http://{}", proxy.addr), Some(admin_token()));
    for s in &servers {
        let h = Http::new(&s.base(), None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while h.get("/health").await.status != 200 {
            assert!(Instant::now() < deadline, "{} not ready in 60 s", s.addr);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let driver = Arc::new(Driver {
        http: http.clone(),
        tag: t.clone(),
        counter: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        count_from: Mutex::new(None),
        books: RwLock::default(),
        open_rentals: Mutex::default(),
        acked: Mutex::default(),
        stats: Mutex::default(),
        cover: jpeg(320, 240, 3),
    });
    // Seed the catalog through the proxy.
    let seeders: Vec<_> = (0..8)
        .map(|_| {
            let d = driver.clone();
            tokio::spawn(async move {
                loop {
                    let n = d.next();
                    if n >= nbooks {
                        return;
                    }
                    assert!(d.create(n).await, "seeding book {n}");
                }
            })
        })
        .collect();
    for s in seeders {
        s.await.unwrap();
    }

    // The reference: /health/live through the same HAProxy, same connections.
    let reference = {
        *driver.count_from.lock().unwrap() = Some(Instant::now());
        let stop_at = Instant::now() + Duration::from_secs(reference_secs);
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let d = driver.clone();
                tokio::spawn(async move {
                    while Instant::now() < stop_at {
                        d.send(Op::Live, Method::GET, "/health/live", None, Bytes::new())
                            .await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let mut stats = driver.stats.lock().unwrap();
        let mut s = stats.remove(&Op::Live).unwrap_or_default();
        *driver.count_from.lock().unwrap() = None;
        row(
            "GET /health/live (reference, same HAProxy)",
            &mut s,
            reference_secs as f64,
        )
    };

    // RSS of every server, once a second, from the start of the warm-up.
    let pids: Vec<u32> = servers.iter().map(|s| s.proc.pid()).collect();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (samples, sampling, pids) = (samples.clone(), sampling.clone(), pids.clone());
        tokio::spawn(async move {
            let t0 = Instant::now();
            while sampling.load(Ordering::Relaxed) {
                let rss: Vec<u64> = pids.iter().map(|p| rss_of(*p)).collect();
                samples
                    .lock()
                    .unwrap()
                    .push((t0.elapsed().as_secs_f64(), rss));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let cpu_before: Vec<f64> = pids.iter().map(|p| cpu_secs(*p)).collect();
    let driver_cpu_before = cpu_secs(std::process::id());
    let moto_pid = private_moto.as_ref().map(|m| m.proc.pid());
    let moto_cpu_before = moto_pid.map(cpu_secs);
    let load_start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let d = driver.clone();
            tokio::spawn(async move {
                while !d.stop.load(Ordering::Relaxed) {
                    d.one().await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let counted_from = Instant::now();
    *driver.count_from.lock().unwrap() = Some(counted_from);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    driver.stop.store(true, Ordering::Relaxed);
    let counted_secs = counted_from.elapsed().as_secs_f64();
    for t in tasks {
        t.await.expect("a load task panicked");
    }
    let cpu: Vec<f64> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(p, b)| cpu_secs(*p) - b)
        .collect();
    let driver_cpu = cpu_secs(std::process::id()) - driver_cpu_before;
    let moto_cpu = moto_pid
        .zip(moto_cpu_before)
        .map(|(p, before)| cpu_secs(p) - before);
    let load_secs = load_start.elapsed().as_secs_f64();
    for s in &mut servers {
        s.proc.assert_running(&s.log);
    }

    // Queued work completes and every acknowledged write is there.
    let drain = Instant::now();
    let acked = driver.acked.lock().unwrap().clone();
    cluster::verify(&http, &acked).await;
    let drained = drain.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let after: Vec<u64> = pids.iter().map(|p| rss_of(*p)).collect();

    // API requests each server counted (its own /metrics).
    let mut served = Vec::new();
    for s in &servers {
        let text = Http::new(&s.base(), Some(admin_token()))
            .get("/metrics")
            .await;
        assert_eq!(text.status, 200, "{}", text.describe());
        let text = String::from_utf8_lossy(&text.body).into_owned();
        served.push(
            text.lines()
                .filter(|l| {
                    l.starts_with("kcl_http_requests_total{") && l.contains("route=\"/api/")
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>() as u64,
        );
    }

    // Figures.
    let mut stats = std::mem::take(&mut *driver.stats.lock().unwrap());
    let mut all = Stats::default();
    for s in stats.values() {
        all.latencies_us.extend(&s.latencies_us);
        all.ok += s.ok;
        all.conflicts += s.conflicts;
        all.shed += s.shed;
        for (code, n) in &s.shed_codes {
            *all.shed_codes.entry(code.clone()).or_default() += n;
        }
        all.other_5xx += s.other_5xx;
        all.failed.extend(s.failed.iter().cloned());
        all.wrong.extend(s.wrong.iter().cloned());
    }
    println!(
        "\n3 kcl servers behind HAProxy, {connections} connections, {secs} s counted after {warmup} s of warm-up, {nbooks} books seeded, audit log in {}, binary {}\n",
        if env.iter().any(|(k, _)| k == "KCL_AUDIT") { "DynamoDB" } else { "PostgreSQL" },
        cluster::kcl_bin().display()
    );
    println!("| request | requests | requests/s | p50 | p99 | expected answer | 409 | 503 shed | other 5xx or none |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!("{reference}");
    println!(
        "{}",
        row("**mixed load, all requests**", &mut all, counted_secs)
    );
    for (op, s) in stats.iter_mut() {
        println!("{}", row(op.label(), s, counted_secs));
    }
    if !all.shed_codes.is_empty() {
        println!("\n503 answers by problem code: {:?}", all.shed_codes);
    }
    if all.shed_codes.keys().any(|c| c != "overloaded") {
        // Why: the servers' warnings about their dependencies.
        for s in &servers {
            let log = std::fs::read_to_string(&s.log).unwrap_or_default();
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("unavailable") || l.contains("timed out"))
                .take(5)
                .collect();
            println!("{}:\n{}", s.proc.name, lines.join("\n"));
        }
    }
    let samples = samples.lock().unwrap().clone();
    let at = |t: f64| {
        samples
            .iter()
            .find(|(s, _)| *s >= t)
            .or(samples.last())
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    let (warm, mid, end) = (
        at(warmup as f64),
        at(warmup as f64 + secs as f64 / 2.0),
        at(load_secs - 0.5),
    );
    println!("\n| server | API requests (whole run) | RSS after warm-up | middle | end of load | max | after the drain | CPU during the load |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for i in 0..pids.len() {
        let max = samples.iter().map(|(_, r)| r[i]).max().unwrap_or(0);
        println!(
            "| kcl{i} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            thousands(served[i]),
            mib(warm[i]),
            mib(mid[i]),
            mib(end[i]),
            mib(max),
            mib(after[i]),
            cpu[i]
        );
    }
    println!(
        "\nRSS samples (s: kcl0/kcl1/kcl2 MiB): {}",
        samples
            .iter()
            .map(|(t, r)| format!(
                "{t:.0}: {}",
                r.iter()
                    .map(|k| (k / 1024).to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(c) = moto_cpu {
        println!("moto (the emulator of this run) CPU: {c:.1} s over {load_secs:.0} s");
    }
    println!(
        "load driver CPU: {driver_cpu:.1} s over {load_secs:.0} s; drain and checks: {drained:.1?}; acknowledged: {} books, {} rentals ({} returned), {} updates, {} covers, {} sales files",
        acked.books.len(),
        acked.rentals.len(),
        acked.returned.len(),
        acked.updated.len(),
        acked.covers.len(),
        acked.sales.len()
    );

    if !all.failed.is_empty() || !all.wrong.is_empty() {
        // HAProxy's log lines of requests that did not end normally (a termination
        // state other than `----`).
        let log = std::fs::read_to_string(&proxy.log).unwrap_or_default();
        let odd: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" HTTP/1.1\"") && !l.contains(" ---- "))
            .take(30)
            .collect();
        println!("HAProxy log, abnormal terminations:\n{}", odd.join("\n"));
    }
    assert!(
        all.failed.is_empty(),
        "{} requests got no answer: {:?}",
        all.failed.len(),
        &all.failed[..all.failed.len().min(10)]
    );
    assert!(
        all.wrong.is_empty(),
        "answers that are neither the expected one, a conflict nor a clear 503: {:?}",
        all.wrong
    );
    assert!(all.ok > 0, "nothing succeeded");
    assert!(
        served.iter().all(|n| *n > 0),
        "HAProxy spread the API requests over the three servers: {served:?}"
    );
    drop(proxy);
    drop(servers);
    drop(private_moto);
    db.drop_now().await;
}
