//! Service faults on the AWS profile, with `kcl serve` started as a user starts it:
//!
//! - a private PostgreSQL cluster of the test's own restarted (`pg_ctl restart -m
//!   fast`, then `-m immediate`), then stopped for a while and started again;
//! - a private Redis frozen (SIGSTOP) for a while, then thawed (SIGCONT);
//! - a private moto emulator (S3, SQS, DynamoDB) frozen, then thawed (never
//!   restarted: it keeps its state in memory only).
//!
//! Client loops write and read all along (books, rentals and returns, covers,
//! sales files, listings). During the fault every answer is a success or a `503`
//! with `Retry-After` and a problem document, within the server's request timeout
//! plus some slack: never a 500, another 5xx, a 4xx standing for a server fault, or
//! no answer. Afterwards writes work again without restarting KCL, every write that
//! was acknowledged is there, rentals equal copies minus active rentals, and every
//! acknowledged cover reaches `DONE`.
//!
//! Bounded for CI (outages of 12-30 s, all three tests at once); the long form:
//! `KCL_FAULTS_SECS=60` (each fault lasts that long). Needs `KCL_TEST_AWS_ENDPOINT`,
//! `KCL_TEST_REDIS_URL`, `KCL_TEST_POSTGRES_URL` (`scripts/services.sh`), PostgreSQL's
//! programs, `redis-server` and the moto virtualenv; skipped when one is missing
//! unless `KCL_TEST_REQUIRE_ALL=1`.
#![cfg(all(feature = "cli", feature = "aws"))]

#[path = "support/cluster.rs"]
mod cluster;
use kcl_aws::testkit::TestDatabase;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;
use bytes::Bytes;
use cluster::{
    admin_token, aws_profile, book, encode, jpeg, knob, sales_csv, signal, tag, Acked, Http, Kcl,
    PrivateMoto, PrivatePg, PrivateRedis, Reply,
};
use kcl_core::testkit::services;
use serde_json::{json, Value};

/// The longest a client waits for an answer during a fault: the server's request
/// timeout plus slack. Uploads (whose own deadline is for slow links) are held to
/// it too: a frozen dependency must not keep a client waiting longer.
const CLIENT_LIMIT: Duration = Duration::from_secs(kcl::http::REQUEST_TIMEOUT.as_secs() + 10);

/// The longest a sales upload may take during a fault. Its rows go to PostgreSQL;
/// its follow-up steps (the daily totals in DynamoDB, the Parquet copy in S3, the
/// audit event) each wait out the SDK's timeouts (25 s with retries) when those
/// services hang, and come back as warnings of a `201` (an upload of the same file
/// again repeats them).
const SALES_LIMIT: Duration = Duration::from_secs(180);

/// How long a fault lasts: `KCL_FAULTS_SECS`, else `ci` seconds.
fn fault_secs(ci: u64) -> Duration {
    Duration::from_secs(knob("KCL_FAULTS_SECS", ci))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Create,
    Get,
    List,
    Update,
    Rent,
    Return,
    Cover,
    Sales,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The expected success.
    Done,
    /// A conflict the operation allows (409: no copy left, a stale version).
    Refused,
    /// `503` with `Retry-After` and a problem document.
    Shed,
    /// Anything else: what the suite exists to catch.
    Bad(String),
}

struct Event {
    at: Instant,
    op: Op,
    outcome: Outcome,
    took: Duration,
}

/// What the server acknowledged, and every answer.
#[derive(Default)]
struct Ledger {
    acked: Acked,
    /// Rentals created with 201 and not yet returned by the loop: (id, book id).
    open_rentals: Vec<(String, String)>,
    events: Vec<Event>,
}

/// A client loop: tasks doing `ops` in turn until stopped, recording everything.
struct Workload {
    http: Http,
    tag: String,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    counter: AtomicU64,
    cover: Bytes,
}

fn pick(len: usize) -> usize {
    (uuid::Uuid::new_v4().as_u128() % len.max(1) as u128) as usize
}

fn due() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string()
}

fn judge(res: &Result<Reply, String>, ok: u16, conflicts_allowed: bool) -> Outcome {
    match res {
        Err(e) => Outcome::Bad(e.clone()),
        Ok(r) if r.status == ok => Outcome::Done,
        Ok(r) if r.status == 409 && conflicts_allowed => Outcome::Refused,
        Ok(r) if r.is_clear_503() => Outcome::Shed,
        Ok(r) => Outcome::Bad(r.describe()),
    }
}

impl Workload {
    fn new(http: Http, tag: &str) -> Arc<Self> {
        Arc::new(Self {
            http,
            tag: tag.to_owned(),
            ledger: Mutex::default(),
            stop: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            cover: jpeg(96, 64, 7),
        })
    }

    /// `method path` without a body, held to [`CLIENT_LIMIT`].
    async fn call(&self, method: Method, path: &str) -> Result<Reply, String> {
        self.http
            .send(method, path, None, Bytes::new(), CLIENT_LIMIT)
            .await
    }

    /// `method path` with a JSON body, held to [`CLIENT_LIMIT`].
    async fn call_json(&self, method: Method, path: &str, body: &Value) -> Result<Reply, String> {
        let body = Bytes::from(body.to_string());
        self.http
            .send(method, path, Some("application/json"), body, CLIENT_LIMIT)
            .await
    }

    /// A number unique to this run, for ISBNs and names.
    fn next(&self) -> u64 {
        let base = u64::from_str_radix(&self.tag[..7], 16).unwrap_or(0) * 10_000;
        base + self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Creates `n` books with 3 copies each (every one must be acknowledged).
    async fn seed(&self, n: usize) {
        for _ in 0..n {
            assert_eq!(
                self.one(Op::Create).await,
                Outcome::Done,
                "seeding before the fault"
            );
        }
    }

    /// Starts `tasks` loops over `ops`.
    fn spawn(
        self: &Arc<Self>,
        tasks: usize,
        ops: &'static [Op],
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..tasks)
            .map(|t| {
                let w = self.clone();
                tokio::spawn(async move {
                    let mut i = t;
                    while !w.stop.load(Ordering::Relaxed) {
                        w.one(ops[i % ops.len()]).await;
                        i += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
            })
            .collect()
    }

    /// Stops the loops and waits for them.
    async fn finish(&self, tasks: Vec<tokio::task::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("a client loop panicked");
        }
    }

    fn any_book(&self) -> Option<(String, String, u32)> {
        let l = self.ledger.lock().unwrap();
        let ids: Vec<_> = l.acked.books.keys().collect();
        let id = ids.get(pick(ids.len()))?;
        let (title, copies) = &l.acked.books[*id];
        Some(((*id).clone(), title.clone(), *copies))
    }

    /// One operation; returns and records its outcome.
    async fn one(&self, op: Op) -> Outcome {
        let started = Instant::now();
        let n = self.next();
        let (res, outcome) = match op {
            Op::Create => {
                let b = book(n, &self.tag, 3);
                let res = self.call_json(Method::POST, "/api/books", &b).await;
                let outcome = judge(&res, 201, false);
                if outcome == Outcome::Done {
                    let r = res.as_ref().unwrap().json();
                    let id = r["id"].as_str().expect("an id").to_owned();
                    self.ledger
                        .lock()
                        .unwrap()
                        .acked
                        .books
                        .insert(id, (b["title"].as_str().unwrap().to_owned(), 3));
                }
                (res, outcome)
            }
            Op::Get => {
                let Some((id, _, _)) = self.any_book() else {
                    return Outcome::Done;
                };
                let res = self.call(Method::GET, &format!("/api/books/{id}")).await;
                let outcome = judge(&res, 200, false);
                (res, outcome)
            }
            Op::List => {
                let res = self
                    .call(Method::GET, &format!("/api/books?q={}&limit=20", self.tag))
                    .await;
                let outcome = judge(&res, 200, false);
                (res, outcome)
            }
            Op::Update => {
                let Some((id, _, _)) = self.any_book() else {
                    return Outcome::Done;
                };
                // Read the version, then write a new title with it.
                let read = self.call(Method::GET, &format!("/api/books/{id}")).await;
                let outcome = judge(&read, 200, false);
                if outcome != Outcome::Done {
                    self.record(op, started, outcome.clone());
                    return outcome;
                }
                let mut b = read.as_ref().unwrap().json();
                let title = format!("{} changed {n}", self.tag);
                b["title"] = json!(title);
                let body = json!({
                    "version": b["version"], "title": b["title"], "author": b["author"],
                    "isbn": b["isbn"], "category": b["category"], "year": b["year"],
                    "price_cents": b["price_cents"], "copies": b["copies"],
                });
                let res = self
                    .call_json(Method::PUT, &format!("/api/books/{id}"), &body)
                    .await;
                let outcome = judge(&res, 200, true);
                if outcome == Outcome::Done {
                    let version = res.as_ref().unwrap().json()["version"].as_u64();
                    let mut l = self.ledger.lock().unwrap();
                    l.acked.updated(&id, version.expect("a version"), title);
                }
                (res, outcome)
            }
            Op::Rent => {
                let Some((id, _, _)) = self.any_book() else {
                    return Outcome::Done;
                };
                let body = json!({"book_id": id, "renter": format!("r{n}"), "due_date": due()});
                let res = self.call_json(Method::POST, "/api/rentals", &body).await;
                let outcome = judge(&res, 201, true);
                if outcome == Outcome::Done {
                    let rid = res.as_ref().unwrap().json()["id"]
                        .as_str()
                        .expect("a rental id")
                        .to_owned();
                    let mut l = self.ledger.lock().unwrap();
                    l.acked.rentals.insert(rid.clone(), id.clone());
                    l.open_rentals.push((rid, id));
                }
                (res, outcome)
            }
            Op::Return => {
                let taken = {
                    let mut l = self.ledger.lock().unwrap();
                    let len = l.open_rentals.len();
                    (len > 0).then(|| l.open_rentals.swap_remove(pick(len)))
                };
                let Some((rid, _)) = taken else {
                    return Outcome::Done;
                };
                let res = self
                    .call(Method::POST, &format!("/api/rentals/{rid}/return"))
                    .await;
                let outcome = judge(&res, 200, false);
                if outcome == Outcome::Done {
                    self.ledger.lock().unwrap().acked.returned.push(rid);
                }
                (res, outcome)
            }
            Op::Cover => {
                let Some((id, _, _)) = self.any_book() else {
                    return Outcome::Done;
                };
                let res = self
                    .http
                    .send(
                        Method::POST,
                        &format!("/api/books/{id}/cover"),
                        Some("image/jpeg"),
                        self.cover.clone(),
                        CLIENT_LIMIT,
                    )
                    .await;
                let outcome = judge(&res, 202, false);
                if outcome == Outcome::Done {
                    let key = res.as_ref().unwrap().json()["key"]
                        .as_str()
                        .expect("a key")
                        .to_owned();
                    self.ledger.lock().unwrap().acked.covers.push(key);
                }
                (res, outcome)
            }
            Op::Sales => {
                let store = format!("F{}{n}", &self.tag[..6]);
                let lines = 3 + (n % 5) as u32;
                let res = self
                    .http
                    .send(
                        Method::POST,
                        &format!("/api/sales/files?name={store}.csv"),
                        Some("text/csv"),
                        sales_csv(&store, "2026-11-23", lines),
                        SALES_LIMIT,
                    )
                    .await;
                let outcome = judge(&res, 201, false);
                if outcome == Outcome::Done {
                    self.ledger.lock().unwrap().acked.sales.push((store, lines));
                }
                (res, outcome)
            }
        };
        let _ = res;
        self.record(op, started, outcome.clone());
        outcome
    }

    fn record(&self, op: Op, started: Instant, outcome: Outcome) {
        self.ledger.lock().unwrap().events.push(Event {
            at: started,
            op,
            outcome,
            took: started.elapsed(),
        });
    }

    /// Every answer that was neither a success, an allowed conflict nor a clear 503.
    fn bad(&self) -> Vec<String> {
        self.ledger
            .lock()
            .unwrap()
            .events
            .iter()
            .filter_map(|e| match &e.outcome {
                Outcome::Bad(why) => Some(format!("{:?} after {:.1?}: {why}", e.op, e.took)),
                _ => None,
            })
            .collect()
    }

    /// Outcomes of requests started within `[from, to)`, as counts per op.
    fn summary(&self, from: Instant, to: Instant) -> String {
        let l = self.ledger.lock().unwrap();
        let mut rows: HashMap<Op, (u32, u32, u32, u32, Duration)> = HashMap::new();
        for e in l.events.iter().filter(|e| e.at >= from && e.at < to) {
            let r = rows.entry(e.op).or_default();
            match e.outcome {
                Outcome::Done => r.0 += 1,
                Outcome::Refused => r.1 += 1,
                Outcome::Shed => r.2 += 1,
                Outcome::Bad(_) => r.3 += 1,
            }
            r.4 = r.4.max(e.took);
        }
        let mut out: Vec<String> = rows
            .iter()
            .map(|(op, (d, c, s, b, max))| {
                format!("{op:?}: {d} ok, {c} conflicts, {s} × 503, {b} bad, slowest {max:.1?}")
            })
            .collect();
        out.sort();
        out.join("; ")
    }

    /// Clear 503s of requests under way during `[from, to)`, for these ops (any op
    /// when empty).
    fn sheds(&self, from: Instant, to: Instant, ops: &[Op]) -> usize {
        self.ledger
            .lock()
            .unwrap()
            .events
            .iter()
            .filter(|e| e.at < to && e.at + e.took > from && e.outcome == Outcome::Shed)
            .filter(|e| ops.is_empty() || ops.contains(&e.op))
            .count()
    }

    /// Requests under way during `[from, to)` and answered before `to`, that
    /// succeeded, for these ops.
    fn successes(&self, from: Instant, to: Instant, ops: &[Op]) -> usize {
        self.ledger
            .lock()
            .unwrap()
            .events
            .iter()
            .filter(|e| e.at + e.took > from && e.at + e.took < to && e.outcome == Outcome::Done)
            .filter(|e| ops.contains(&e.op))
            .count()
    }

    /// Creates books until one is acknowledged: how long writes took to come back.
    async fn wait_writable(&self, since: Instant) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.one(Op::Create).await == Outcome::Done {
                return since.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "writes did not come back within 120 s of the fault's end: {}",
                self.bad().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Every acknowledged write is there (see [`cluster::verify`]).
    async fn verify(&self) {
        let acked = self.ledger.lock().unwrap().acked.clone();
        cluster::verify(&self.http, &acked).await;
    }
}

/// A `kcl serve` (log `name`) configured by `env`, ready, and a workload tagged
/// `t` with 4 books seeded.
struct Run {
    kcl: Kcl,
    http: Http,
    w: Arc<Workload>,
    _dir: tempfile::TempDir,
}

impl Run {
    async fn start(name: &str, t: &str, env: &[(String, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut kcl = Kcl::start(name, dir.path(), env).await;
        let http = Http::new(&kcl.base(), Some(admin_token()));
        wait_ready(&http, &mut kcl).await;
        let w = Workload::new(http.clone(), t);
        w.seed(4).await;
        Self {
            kcl,
            http,
            w,
            _dir: dir,
        }
    }

    /// Lets the loops run 3 s more and stops them (the server must still run);
    /// prints the outcomes before, during and after the fault, and asserts that none
    /// was bad.
    async fn finish(
        &mut self,
        tasks: Vec<tokio::task::JoinHandle<()>>,
        start: Instant,
        fault: &Fault,
        recovered: Duration,
    ) {
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.w.finish(tasks).await;
        self.kcl.proc.assert_running(&self.kcl.log);
        let w = &self.w;
        println!("before: {}", w.summary(start, fault.from));
        println!(
            "{} ({:.0?}): {}",
            fault.name,
            fault.to - fault.from,
            w.summary(fault.from, fault.to)
        );
        println!(
            "after (writes back {recovered:.1?} after the {}): {}",
            fault.ended_by,
            w.summary(fault.to, Instant::now())
        );
        let bad = w.bad();
        assert!(
            bad.is_empty(),
            "{} bad answers:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }
}

/// Lets the client loops run 2 s, then freezes process `pid` (SIGSTOP) for `secs`
/// and thaws it.
async fn freeze(pid: u32, secs: Duration) -> Fault {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let from = Instant::now();
    signal(pid, "STOP");
    tokio::time::sleep(secs).await;
    let to = Instant::now();
    signal(pid, "CONT");
    Fault {
        name: "frozen",
        from,
        to,
        ended_by: "thaw",
    }
}

/// A fault's name, when it began and ended, and what ended it.
struct Fault {
    name: &'static str,
    from: Instant,
    to: Instant,
    ended_by: &'static str,
}

/// Waits until `/health` answers 200 (every dependency up).
async fn wait_ready(http: &Http, kcl: &mut Kcl) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        kcl.proc.assert_running(&kcl.log);
        let r = http
            .send(
                Method::GET,
                "/health",
                None,
                Bytes::new(),
                Duration::from_secs(20),
            )
            .await;
        if r.as_ref().is_ok_and(|r| r.status == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "not ready in 60 s: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `pg_ctl ACTION` on a blocking thread.
async fn pg_ctl(pg: &Arc<PrivatePg>, action: &'static str) {
    let pg = pg.clone();
    tokio::task::spawn_blocking(move || pg.ctl(action))
        .await
        .expect("pg_ctl");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_restarts_answer_503_and_lose_no_acknowledged_write() {
    let (Some(aws), Some(redis)) = (services::aws_endpoint(), services::redis_url()) else {
        return;
    };
    let Some(pg) = PrivatePg::start() else { return };
    let pg = Arc::new(pg);
    let t = tag();
    // The queue is PostgreSQL's own (the default on PostgreSQL): it must come back too.
    let mut run = Run::start("pg", &t, &aws_profile(&pg.url(), &aws, &redis, &t, false)).await;
    let (w, http) = (run.w.clone(), run.http.clone());
    let start = Instant::now();
    let tasks = w.spawn(
        5,
        &[
            Op::Create,
            Op::Get,
            Op::Rent,
            Op::List,
            Op::Return,
            Op::Cover,
            Op::Sales,
            Op::Update,
            Op::Rent,
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg_ctl(&pg, "restart -m fast").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg_ctl(&pg, "restart -m immediate").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Down for longer than a request waits for a connection (10 s): requests must
    // then be answered 503, not wait for the database.
    let down = Instant::now();
    pg_ctl(&pg, "stop -m immediate").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let health = http
        .send(Method::GET, "/health", None, Bytes::new(), CLIENT_LIMIT)
        .await
        .expect("/health answers during the outage");
    assert_eq!(
        health.status,
        503,
        "not ready while the database is down: {}",
        health.describe()
    );
    tokio::time::sleep(fault_secs(15).saturating_sub(Duration::from_secs(2))).await;
    let up = Instant::now();
    pg_ctl(&pg, "start").await;
    let recovered = w.wait_writable(up).await;
    let outage = Fault {
        name: "outage",
        from: down,
        to: up,
        ended_by: "start",
    };
    run.finish(tasks, start, &outage, recovered).await;
    assert!(
        w.sheds(down, up, &[]) > 0,
        "no request during the outage was answered 503: {}",
        w.summary(down, up)
    );
    wait_ready(&http, &mut run.kcl).await;
    w.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_redis_costs_speed_not_answers() {
    let (Some(aws), Some(_)) = (services::aws_endpoint(), services::postgres_url()) else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let db_url = db.url().to_owned();
    let Some(redis) = PrivateRedis::start().await else {
        return;
    };
    let t = tag();
    let mut run = Run::start(
        "redis",
        &t,
        &aws_profile(&db_url, &aws, &redis.url(), &t, true),
    )
    .await;
    let (w, http) = (run.w.clone(), run.http.clone());
    // Every book read once: cached in Redis.
    for _ in 0..8 {
        w.one(Op::Get).await;
    }
    let start = Instant::now();
    let tasks = w.spawn(
        4,
        &[
            Op::Get,
            Op::List,
            Op::Create,
            Op::Rent,
            Op::Get,
            Op::Update,
            Op::Return,
        ],
    );
    let freeze = freeze(redis.proc.pid(), fault_secs(10)).await;
    let (frozen, thawed) = (freeze.from, freeze.to);
    let recovered = w.wait_writable(thawed).await;
    run.finish(tasks, start, &freeze, recovered).await;
    // The cache is an optimisation: reads are served from the database meanwhile.
    assert!(
        w.successes(frozen, thawed, &[Op::Get, Op::List]) > 0,
        "no read was served while Redis was frozen: {}",
        w.summary(frozen, thawed)
    );
    w.verify().await;
    // Every acknowledged book is listed (no listing cached before a write is served).
    let listed = list_all(&http, &t).await;
    let books: Vec<String> = w
        .ledger
        .lock()
        .unwrap()
        .acked
        .books
        .keys()
        .cloned()
        .collect();
    for id in &books {
        assert!(
            listed.contains(id),
            "acknowledged book {id} missing from the listing"
        );
    }
    drop(run);
    db.drop_now().await;
}

/// Ids of every book a search for `q` lists, page by page.
async fn list_all(http: &Http, q: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/books?q={q}&limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode(c)));
        }
        let r = http.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.describe());
        let page = r.json();
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|b| b["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_aws_emulator_answers_503_and_its_work_completes_after() {
    let (Some(redis), Some(_)) = (services::redis_url(), services::postgres_url()) else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let db_url = db.url().to_owned();
    let Some(moto) = PrivateMoto::start().await else {
        return;
    };
    let t = tag();
    let mut run = Run::start(
        "moto",
        &t,
        &aws_profile(&db_url, &moto.endpoint(), &redis, &t, true),
    )
    .await;
    let w = run.w.clone();
    // The pipeline works before the fault.
    assert_eq!(w.one(Op::Cover).await, Outcome::Done);
    assert_eq!(w.one(Op::Sales).await, Outcome::Done);
    let start = Instant::now();
    let tasks = w.spawn(
        5,
        &[
            Op::Cover,
            Op::Get,
            Op::Sales,
            Op::Create,
            Op::List,
            Op::Rent,
            Op::Cover,
        ],
    );
    // One cover sent a second into the freeze (`freeze` waits 2 s first), whatever
    // the workload's tasks are waiting on then: its S3 calls give up (25 s with
    // retries) well before the thaw, so it must be answered 503.
    let probe = {
        let w = w.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            w.one(Op::Cover).await
        })
    };
    let freeze = freeze(moto.proc.pid(), fault_secs(35)).await;
    let (frozen, thawed) = (freeze.from, freeze.to);
    let probed = probe.await.expect("the probe task");
    let recovered = w.wait_writable(thawed).await;
    // A cover accepted after the thaw, to see the pipeline is back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.one(Op::Cover).await != Outcome::Done {
        assert!(
            Instant::now() < deadline,
            "no cover accepted 60 s after the thaw"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    run.finish(tasks, start, &freeze, recovered).await;
    assert!(
        w.sheds(frozen, thawed, &[Op::Cover]) > 0,
        "no cover upload during the freeze was answered 503 (the probe: {probed:?}): {}",
        w.summary(frozen, thawed)
    );
    w.verify().await;
    drop(run);
    drop(moto);
    db.drop_now().await;
}
