//! `kill -9` at chosen and at random moments: the real `kcl serve` (and, on the AWS
//! profile, a standalone `kcl worker`) is crashed at every deterministic crash point
//! (`kcl_core::crash_point!`, `KCL_CRASH_AT`) in turn, and at seeded random moments
//! with SIGKILL, while clients create books, rent and return copies, upload covers,
//! sales files and OCR jobs. After the last crash the processes start once more, the
//! clients retry what got no answer (as a client would), and the test checks:
//!
//! - every acknowledged write is there (books, rentals, returns, covers, jobs);
//! - every cover and OCR item reaches DONE or ERROR (acknowledged ones DONE);
//! - nothing is done twice in effect: one `thumbnail_created` event per cover, the
//!   stock and the daily sales totals exactly the sum of the files, each once;
//! - every book's available copies are its copies minus its active rentals;
//! - the audit log has an event for every change the stores hold (created, rented,
//!   returned, cover uploaded, sales file ingested, job created), acknowledged or not.
//!
//! Two profiles: embedded (SQLite, files, the SQLite queue, the worker in the server)
//! and AWS (a PostgreSQL database of its own, S3, SQS and DynamoDB on the emulator,
//! the worker apart with `KCL_WORKER=off`); the AWS one needs `KCL_TEST_POSTGRES_URL`
//! and `KCL_TEST_AWS_ENDPOINT` (skipped without, unless `KCL_TEST_REQUIRE_ALL=1`).
//!
//! Knobs: `KCL_CRASH_ROUNDS` random SIGKILL rounds per profile after the crash points
//! (default 2; a release run takes 30 or more), `KCL_CRASH_SEED` the seed (default
//! fixed; printed, so a failing run can be replayed), `KCL_CRASH_POINTS` only the
//! crash points whose names contain one of these comma-separated words.
#![cfg(all(
    feature = "cli",
    feature = "crash-points",
    feature = "local",
    feature = "media"
))]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kcl::domain::Isbn;
use serde_json::{json, Value};

#[path = "support/kcl_proc.rs"]
mod kcl_proc;
#[path = "support/multipart.rs"]
mod multipart;
use kcl_proc::{http, log_tail, start, Proc, Resp, SIGABRT, SIGKILL};

// ---------------------------------------------------------------------------
// A small deterministic RNG (SplitMix64).

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
}

async fn get_json(addr: SocketAddr, token: &str, path: &str) -> Value {
    let r = http(addr, token, "GET", path, "text/plain", b"")
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

/// Every item of a listing with `limit`/`cursor` pages.
async fn all_pages(addr: SocketAddr, token: &str, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}{sep}limit=100"),
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
        };
        let page = get_json(addr, token, &url).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

// ---------------------------------------------------------------------------
// What the clients did, and what they were told.

/// A sales line: store, day, SKU, quantity, unit price in cents.
#[derive(Clone)]
struct Line {
    store: &'static str,
    day: u32,
    sku: String,
    qty: i64,
    cents: i64,
}

#[derive(Clone)]
struct SalesFileSent {
    name: String,
    csv: String,
    lines: Vec<Line>,
    /// 201 or 200 seen (loaded or a duplicate of a loaded one).
    acked: bool,
}

#[derive(Default, Clone)]
struct Ledger {
    /// Acknowledged books: id → copies.
    books: BTreeMap<String, u32>,
    /// Acknowledged rentals: id → (book, return acknowledged, return attempted).
    rentals: BTreeMap<String, (String, bool, bool)>,
    /// Acknowledged cover uploads: (book, key).
    covers: Vec<(String, String)>,
    /// Acknowledged OCR jobs.
    jobs: Vec<String>,
    /// Every sales file sent.
    files: Vec<SalesFileSent>,
    /// Requests without an answer.
    unanswered: u64,
    /// Requests with an answer.
    answered: u64,
    /// Answers that no client should get (5xx, unexpected codes).
    wrong: Vec<String>,
}

struct Shared {
    ledger: Mutex<Ledger>,
    token: String,
    cover: Vec<u8>,
    ocr: bool,
    seq: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
    /// Records an answer (or its absence); returns it when there is one.
    fn note(&self, what: &str, r: std::io::Result<Resp>, ok: &[u16]) -> Option<Resp> {
        let mut l = self.ledger.lock().unwrap();
        match r {
            Err(_) => {
                l.unanswered += 1;
                None
            }
            Ok(r) => {
                l.answered += 1;
                // 503: a server still starting its dependencies, or shedding.
                if !ok.contains(&r.status) && r.status != 503 {
                    l.wrong
                        .push(format!("{what}: {} {}", r.status, r.text().trim()));
                }
                Some(r)
            }
        }
    }
}

async fn create_book(addr: SocketAddr, s: &Shared, rng: &mut Rng) -> Option<String> {
    let n = s.next();
    let copies = rng.range(1, 4) as u32;
    let body = json!({
        "title": format!("Crash test book {n}"), "author": "Tester",
        "isbn": Isbn::synthetic(n + rng.range(0, 1000) * 1_000_000).to_string(), "category": "Test", "year": 2000,
        "price_cents": 1000, "copies": copies,
    });
    let r = http(
        addr,
        &s.token,
        "POST",
        "/api/books",
        "application/json",
        body.to_string().as_bytes(),
    )
    .await;
    // 409: an ISBN drawn twice.
    let r = s.note("create book", r, &[201, 409])?;
    if r.status != 201 {
        return None;
    }
    let id = r.json()["id"].as_str()?.to_owned();
    s.ledger.lock().unwrap().books.insert(id.clone(), copies);
    Some(id)
}

/// Books and rentals: creates books, rents copies, returns some.
async fn books_client(addr: SocketAddr, s: Arc<Shared>, mut rng: Rng, stop: Arc<AtomicBool>) {
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    while !stop.load(Ordering::Relaxed) {
        let roll = rng.range(0, 100);
        if roll < 25 || s.ledger.lock().unwrap().books.is_empty() {
            create_book(addr, &s, &mut rng).await;
        } else if roll < 75 {
            let book = {
                let l = s.ledger.lock().unwrap();
                let i = rng.range(0, l.books.len() as u64) as usize;
                l.books.keys().nth(i).cloned()
            };
            let Some(book) = book else { continue };
            let body =
                json!({"book_id": book, "renter": format!("r{}", s.next()), "due_date": due});
            let r = http(
                addr,
                &s.token,
                "POST",
                "/api/rentals",
                "application/json",
                body.to_string().as_bytes(),
            )
            .await;
            if let Some(r) = s.note("rent", r, &[201, 409]) {
                if r.status == 201 {
                    let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                    s.ledger
                        .lock()
                        .unwrap()
                        .rentals
                        .insert(id, (book, false, false));
                }
            }
        } else {
            let rental = {
                let mut l = s.ledger.lock().unwrap();
                let open: Vec<String> = l
                    .rentals
                    .iter()
                    .filter(|(_, (_, _, tried))| !tried)
                    .map(|(id, _)| id.clone())
                    .collect();
                if open.is_empty() {
                    None
                } else {
                    let id = open[rng.range(0, open.len() as u64) as usize].clone();
                    l.rentals.get_mut(&id).expect("listed").2 = true;
                    Some(id)
                }
            };
            let Some(id) = rental else { continue };
            let r = http(
                addr,
                &s.token,
                "POST",
                &format!("/api/rentals/{id}/return"),
                "application/json",
                b"",
            )
            .await;
            if let Some(r) = s.note("return", r, &[200]) {
                if r.status == 200 {
                    s.ledger
                        .lock()
                        .unwrap()
                        .rentals
                        .get_mut(&id)
                        .expect("kept")
                        .1 = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(0, 30))).await;
    }
}

/// Covers: a new book each, then its cover.
async fn covers_client(addr: SocketAddr, s: Arc<Shared>, mut rng: Rng, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        if let Some(book) = create_book(addr, &s, &mut rng).await {
            let r = http(
                addr,
                &s.token,
                "POST",
                &format!("/api/books/{book}/cover"),
                "image/jpeg",
                &s.cover,
            )
            .await;
            if let Some(r) = s.note("upload cover", r, &[202]) {
                if r.status == 202 {
                    let key = r.json()["key"].as_str().unwrap_or_default().to_owned();
                    s.ledger.lock().unwrap().covers.push((book, key));
                }
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.range(20, 120))).await;
    }
}

const STORES: [&str; 3] = ["S1", "S2", "S3"];
/// The sales days: 2026-11-01 to 2026-11-05 (in the past).
const DAYS: u32 = 5;

fn sales_file(n: u64, rng: &mut Rng) -> SalesFileSent {
    let mut csv =
        String::from("loja;data;cupom;codigo;produto;quantidade;preco_unitario;total\r\n");
    let mut lines = Vec::new();
    for i in 0..rng.range(50, 400) {
        let line = Line {
            store: STORES[rng.range(0, 3) as usize],
            day: 1 + rng.range(0, u64::from(DAYS)) as u32,
            sku: format!("SKU{}", rng.range(1, 9)),
            qty: rng.range(1, 6) as i64,
            cents: rng.range(50, 2000) as i64,
        };
        let total = line.qty * line.cents;
        csv.push_str(&format!(
            "{};{:02}/11/2026;F{n}R{i};{};Produto {};{};{},{:02};{},{:02}\r\n",
            line.store,
            line.day,
            line.sku,
            line.sku,
            line.qty,
            line.cents / 100,
            line.cents % 100,
            total / 100,
            total % 100
        ));
        lines.push(line);
    }
    SalesFileSent {
        name: format!("sales/incoming/crash-{n}.csv"),
        csv,
        lines,
        acked: false,
    }
}

async fn send_sales(addr: SocketAddr, s: &Shared, name: &str, csv: &str) -> Option<u16> {
    let r = http(
        addr,
        &s.token,
        "POST",
        &format!("/api/sales/files?name={name}"),
        "text/csv",
        csv.as_bytes(),
    )
    .await;
    s.note(&format!("sales file {name}"), r, &[200, 201])
        .map(|r| r.status)
}

/// Sales files: a new name and content each.
async fn sales_client(addr: SocketAddr, s: Arc<Shared>, mut rng: Rng, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let mut file = sales_file(s.next(), &mut rng);
        let status = send_sales(addr, &s, &file.name, &file.csv).await;
        file.acked = matches!(status, Some(200 | 201));
        s.ledger.lock().unwrap().files.push(file);
        tokio::time::sleep(Duration::from_millis(rng.range(50, 250))).await;
    }
}

/// OCR jobs of one image, now and then (Tesseract is the slow part).
async fn ocr_client(addr: SocketAddr, s: Arc<Shared>, mut rng: Rng, stop: Arc<AtomicBool>) {
    let (ct, form) = multipart::job_form(Some("crash"), &[multipart::OCR_PNG]);
    while !stop.load(Ordering::Relaxed) {
        let r = http(addr, &s.token, "POST", "/api/jobs", &ct, &form).await;
        if let Some(r) = s.note("create OCR job", r, &[201]) {
            if r.status == 201 {
                let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                s.ledger.lock().unwrap().jobs.push(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(300, 900))).await;
    }
}

fn spawn_clients(
    addr: SocketAddr,
    s: &Arc<Shared>,
    rng: &mut Rng,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = vec![
        tokio::spawn(books_client(addr, s.clone(), Rng(rng.next()), stop.clone())),
        tokio::spawn(books_client(addr, s.clone(), Rng(rng.next()), stop.clone())),
        tokio::spawn(covers_client(
            addr,
            s.clone(),
            Rng(rng.next()),
            stop.clone(),
        )),
        tokio::spawn(sales_client(addr, s.clone(), Rng(rng.next()), stop.clone())),
    ];
    if s.ocr {
        out.push(tokio::spawn(ocr_client(
            addr,
            s.clone(),
            Rng(rng.next()),
            stop.clone(),
        )));
    }
    out
}

// ---------------------------------------------------------------------------
// The suite.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Server,
    Worker,
}

/// A profile: how its processes are configured.
struct Profile {
    name: &'static str,
    /// Every process's variables.
    env: Vec<(String, String)>,
    /// A standalone worker (the server then runs with `KCL_WORKER=off`).
    worker: bool,
    /// Crash points and whose they are (on the embedded profile, the worker's are
    /// in the server).
    points: Vec<(&'static str, Who)>,
    /// Where the suite keeps its logs.
    dir: PathBuf,
}

fn rounds() -> u64 {
    std::env::var("KCL_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

fn seed() -> u64 {
    std::env::var("KCL_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6b63_6c17)
}

/// Points the embedded and AWS profiles both have; the sales publish points differ
/// (SQLite inserts lines in batches before a short publishing transaction).
fn common_points(worker: Who) -> Vec<(&'static str, Who)> {
    let mut p = vec![
        ("covers.upload.linked", Who::Server),
        ("covers.upload.stored", Who::Server),
        ("covers.upload.queued", Who::Server),
        ("sales.publish.before_commit", Who::Server),
        ("sales.publish.committed", Who::Server),
        ("catalog.create.committed", Who::Server),
        ("rentals.rent.committed", Who::Server),
        ("rentals.return.committed", Who::Server),
        ("worker.task.before_ack", worker),
        ("covers.thumbnail.linked", worker),
    ];
    if cfg!(feature = "tesseract") {
        p.push(("jobs.create.recorded", Who::Server));
        p.push(("jobs.item.started", worker));
    }
    p
}

/// Stops a process with SIGTERM (a clean stop: the worker finishes or releases its
/// tasks), SIGKILL after 30 s.
fn stop_gracefully(mut p: Proc) {
    let _ = std::process::Command::new("kill")
        .arg(p.child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = p.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The processes of a profile: `None` when not running (crashed).
struct Running {
    server: Option<Proc>,
    worker: Option<Proc>,
}

impl Running {
    /// Starts `who` with `crash_at` (stopping it cleanly first if it runs), and the
    /// other process without a crash point if it does not run.
    async fn start(&mut self, p: &Profile, who: Option<Who>, crash_at: Option<&str>, log: &Path) {
        let mut server_env = p.env.clone();
        if p.worker {
            server_env.push(("KCL_WORKER".into(), "off".into()));
        }
        for (me, slot, env, what) in [
            (Who::Server, &mut self.server, &server_env, "serve"),
            (Who::Worker, &mut self.worker, &p.env, "worker"),
        ] {
            if me == Who::Worker && !p.worker {
                continue;
            }
            if who == Some(me) {
                if let Some(running) = slot.take() {
                    stop_gracefully(running);
                }
                *slot = Some(start(what, env, crash_at, log).await);
            } else if slot.is_none() {
                *slot = Some(start(what, env, None, log).await);
            }
        }
    }

    fn get(&mut self, who: Who) -> &mut Proc {
        match who {
            Who::Server => self.server.as_mut(),
            Who::Worker => self.worker.as_mut(),
        }
        .expect("running")
    }
}

/// What a round did.
struct RoundReport {
    label: String,
    ms: u128,
}

async fn run_profile(p: Profile) {
    let seed = seed();
    let started = Instant::now();
    let mut rng = Rng(seed);
    let log = p.dir.join(format!("{}.log", p.name));
    println!(
        "crash suite, {} profile: seed {seed}, {} crash points, {} random rounds; logs in {}",
        p.name,
        p.points.len(),
        rounds(),
        log.display()
    );
    let token = kcl::http::auth::TokenIssuer::hs256(SECRET.as_bytes())
        .expect("an HS256 secret")
        .issue(
            "crash-test",
            kcl::http::auth::Role::Admin,
            Duration::from_secs(4 * 3600),
        );
    let img = image::RgbImage::from_fn(480, 360, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let shared = Arc::new(Shared {
        ledger: Mutex::new(Ledger::default()),
        token,
        cover: jpeg.into_inner(),
        ocr: cfg!(feature = "tesseract"),
        seq: std::sync::atomic::AtomicU64::new(rng.range(0, 1_000_000) * 1000),
    });

    let only = std::env::var("KCL_CRASH_POINTS").unwrap_or_default();
    let mut plan: Vec<(Option<String>, Who)> = p
        .points
        .iter()
        .filter(|(point, _)| only.is_empty() || only.split(',').any(|o| point.contains(o.trim())))
        .map(|(point, who)| (Some(format!("{point}@{}", rng.range(1, 4))), *who))
        .collect();
    for _ in 0..rounds() {
        let who = if p.worker && rng.chance(40) {
            Who::Worker
        } else {
            Who::Server
        };
        plan.push((None, who));
    }

    let mut run = Running {
        server: None,
        worker: None,
    };
    let mut reports = Vec::new();
    let mut crashes = 0u32;
    for (crash_at, who) in &plan {
        let round_start = Instant::now();
        run.start(&p, Some(*who), crash_at.as_deref(), &log).await;
        let stop = Arc::new(AtomicBool::new(false));
        let addr = run.get(Who::Server).addr;
        let clients = spawn_clients(addr, &shared, &mut rng, &stop);
        let kill_after = Duration::from_millis(rng.range(200, 2500));
        let limit = Duration::from_secs(40);
        let target = run.get(*who);
        let status = loop {
            if let Ok(Some(status)) = target.child.try_wait() {
                break status;
            }
            let waited = round_start.elapsed();
            if crash_at.is_none() && waited >= kill_after {
                target.child.kill().expect("SIGKILL");
                break target.child.wait().expect("exit status");
            }
            if waited > limit {
                stop.store(true, Ordering::Relaxed);
                panic!(
                    "{}: crash point {} not reached in {limit:?} of load (is it on a path the \
                     clients take?):\n{}",
                    p.name,
                    crash_at.as_deref().unwrap_or("-"),
                    log_tail(&log)
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let what = target.what;
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.expect("a client");
        }
        crashes += 1;
        let expected = if crash_at.is_some() { SIGABRT } else { SIGKILL };
        assert_eq!(
            status.signal(),
            Some(expected),
            "{}: kcl {what} ended {status} instead of at {}:\n{}",
            p.name,
            crash_at.as_deref().unwrap_or("a SIGKILL"),
            log_tail(&log)
        );
        match who {
            Who::Server => run.server = None,
            Who::Worker => run.worker = None,
        }
        reports.push(RoundReport {
            label: format!(
                "{:?} {}",
                who,
                crash_at.clone().unwrap_or_else(|| "SIGKILL".into())
            ),
            ms: round_start.elapsed().as_millis(),
        });
    }
    // The last start: every process, no crash point.
    run.start(&p, None, None, &log).await;
    let load_done = started.elapsed();
    for r in &reports {
        println!("  round {:<48} {:>6} ms", r.label, r.ms);
    }
    verify(&p, run.get(Who::Server).addr, &shared, &log).await;
    let ledger = shared.ledger.lock().unwrap();
    println!(
        "crash suite, {} profile: {crashes} crashes in {:.1} s of load, verified after {:.1} s; \
         {} answered and {} unanswered requests; {} books, {} rentals, {} covers, {} sales \
         files, {} OCR jobs acknowledged",
        p.name,
        load_done.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        ledger.answered,
        ledger.unanswered,
        ledger.books.len(),
        ledger.rentals.len(),
        ledger.covers.len(),
        ledger.files.iter().filter(|f| f.acked).count(),
        ledger.jobs.len()
    );
    drop(run);
}

/// Messages waiting or in flight per task queue (`/metrics`, read at scrape).
async fn queue_depth(addr: SocketAddr, token: &str) -> BTreeMap<String, u64> {
    let r = http(addr, token, "GET", "/metrics", "text/plain", b"")
        .await
        .expect("GET /metrics");
    assert_eq!(r.status, 200, "GET /metrics: {}", r.text());
    let mut depth = BTreeMap::new();
    for line in r.text().lines() {
        let Some(labels) = line.strip_prefix("kcl_queue_messages{") else {
            continue;
        };
        if !(labels.contains("state=\"visible\"") || labels.contains("state=\"in_flight\"")) {
            continue;
        }
        let queue = labels
            .split("queue=\"")
            .nth(1)
            .and_then(|q| q.split('"').next())
            .unwrap_or("?");
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a metric without a value: {line}"));
        *depth.entry(queue.to_owned()).or_default() += n as u64;
    }
    assert!(!depth.is_empty(), "no queue depth in /metrics");
    depth
}

/// Events of a book's history.
async fn history(addr: SocketAddr, token: &str, kind: &str, id: &str) -> Vec<Value> {
    get_json(
        addr,
        token,
        &format!("/api/audit?entity_type={kind}&entity_id={id}&limit=1000"),
    )
    .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn count_events(events: &[Value], action: &str, field: &str, value: &str) -> usize {
    events
        .iter()
        .filter(|e| e["action"] == action && e["data"][field].as_str() == Some(value))
        .count()
}

async fn verify(p: &Profile, addr: SocketAddr, s: &Shared, log: &Path) {
    let token = &s.token;
    let mut problems: Vec<String> = Vec::new();
    {
        let l = s.ledger.lock().unwrap();
        problems.extend(l.wrong.iter().map(|w| format!("a wrong answer: {w}")));
    }

    // Clients retry the sales files that got no answer: each must now be loaded, or
    // a duplicate of the copy the crash interrupted.
    let unsent: Vec<(usize, String, String)> = {
        let l = s.ledger.lock().unwrap();
        l.files
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.acked)
            .map(|(i, f)| (i, f.name.clone(), f.csv.clone()))
            .collect()
    };
    for (i, name, csv) in unsent {
        let status = send_sales(addr, s, &name, &csv).await;
        assert!(
            matches!(status, Some(200 | 201)),
            "{}: retrying {name}: {status:?}",
            p.name
        );
        s.ledger.lock().unwrap().files[i].acked = true;
    }

    // Settle: the queues drain (tasks a crash left in flight come back after their
    // visibility timeout). Then every cover a book shows and every OCR item must be
    // DONE or ERROR: one still waiting has lost its task.
    let settle = Instant::now();
    let limit = Duration::from_secs(150);
    loop {
        let depth = queue_depth(addr, token).await;
        if depth.values().all(|n| *n == 0) {
            break;
        }
        if settle.elapsed() > limit {
            problems.push(format!(
                "the task queues did not drain in {limit:?} after the last crash: {depth:?}"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drained = settle.elapsed();
    let books = all_pages(addr, token, "/api/books").await;
    let mut final_status: HashMap<String, Value> = HashMap::new();
    let mut covers = 0;
    for b in &books {
        let (Some(id), Some(key)) = (b["id"].as_str(), b["cover"]["key"].as_str()) else {
            continue;
        };
        covers += 1;
        let st = get_json(addr, token, &format!("/api/processing?key={key}")).await;
        if st["status"] != "DONE" && st["status"] != "ERROR" {
            problems.push(format!(
                "cover {key} of book {id} is still {} with no task left in the queue \
                 (its task was lost): {st}",
                st["status"]
            ));
        }
        final_status.insert(key.to_owned(), st);
    }
    let mut jobs_seen = Vec::new();
    let mut page = 1;
    loop {
        let list = get_json(addr, token, &format!("/api/jobs?page={page}&per_page=100")).await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        jobs_seen.extend(
            items
                .iter()
                .filter_map(|j| j["id"].as_str().map(str::to_owned)),
        );
        page += 1;
    }
    let mut job_views: HashMap<String, Value> = HashMap::new();
    for id in &jobs_seen {
        let j = get_json(addr, token, &format!("/api/jobs/{id}")).await;
        for item in j["items"].as_array().cloned().unwrap_or_default() {
            if item["status"] != "DONE" && item["status"] != "ERROR" {
                problems.push(format!(
                    "OCR job {id}: item {} is still {} with no task left in the queue \
                     (its task was lost)",
                    item["id"], item["status"]
                ));
            }
        }
        job_views.insert(id.clone(), j);
    }
    println!(
        "{}: queues drained {:.1} s after the last crash; {covers} covers, {} OCR jobs",
        p.name,
        drained.as_secs_f64(),
        jobs_seen.len()
    );

    // No client runs any more: a copy of what they were told.
    let ledger = s.ledger.lock().unwrap().clone();
    let by_id: HashMap<&str, &Value> = books
        .iter()
        .filter_map(|b| Some((b["id"].as_str()?, b)))
        .collect();
    // Acknowledged books are there.
    for (id, copies) in &ledger.books {
        match by_id.get(id.as_str()) {
            None => problems.push(format!("acknowledged book {id} lost")),
            Some(b) if b["copies"] != *copies => {
                problems.push(format!("book {id}: {copies} copies acknowledged, now {b}"))
            }
            Some(_) => {}
        }
    }
    // Rentals, availability and the history of every book.
    let mut rentals_seen: HashMap<String, Value> = HashMap::new();
    for b in &books {
        let id = b["id"].as_str().unwrap_or_default();
        let rentals = all_pages(addr, token, &format!("/api/rentals?book_id={id}")).await;
        let active = rentals
            .iter()
            .filter(|r| r["returned_at"].is_null())
            .count() as u64;
        let (copies, available) = (
            b["copies"].as_u64().unwrap_or(0),
            b["available"].as_u64().unwrap_or(u64::MAX),
        );
        if available != copies.saturating_sub(active) || active > copies {
            problems.push(format!(
                "book {id}: {copies} copies, {active} active rentals, {available} available"
            ));
        }
        let events = history(addr, token, "book", id).await;
        if !events.iter().any(|e| e["action"] == "created") {
            problems.push(format!("audit: book {id} has no `created` event"));
        }
        for r in &rentals {
            let rid = r["id"].as_str().unwrap_or_default();
            if count_events(&events, "rented", "id", rid) != 1 {
                problems.push(format!(
                    "audit: rental {rid} of book {id} has {} `rented` events, not 1",
                    count_events(&events, "rented", "id", rid)
                ));
            }
            if !r["returned_at"].is_null() && count_events(&events, "returned", "id", rid) != 1 {
                problems.push(format!(
                    "audit: returned rental {rid} of book {id} has {} `returned` events, not 1",
                    count_events(&events, "returned", "id", rid)
                ));
            }
            rentals_seen.insert(rid.to_owned(), r.clone());
        }
        if let Some(key) = b["cover"]["key"].as_str() {
            if count_events(&events, "cover_uploaded", "key", key) != 1 {
                problems.push(format!(
                    "audit: book {id}'s cover {key} has {} `cover_uploaded` events, not 1",
                    count_events(&events, "cover_uploaded", "key", key)
                ));
            }
            let thumbs = count_events(&events, "thumbnail_created", "key", key);
            let done = final_status
                .get(key)
                .is_some_and(|st| st["status"] == "DONE");
            let superseded = final_status
                .get(key)
                .and_then(|st| st["message"].as_str())
                .is_some_and(|m| m.contains("superseded"));
            if done && !superseded && thumbs != 1 {
                problems.push(format!(
                    "cover {key} of book {id}: DONE with {thumbs} `thumbnail_created` events, not 1"
                ));
            }
        }
    }
    for (rid, (book, returned, tried)) in &ledger.rentals {
        match rentals_seen.get(rid) {
            None => problems.push(format!("acknowledged rental {rid} of book {book} lost")),
            Some(r) if *returned && r["returned_at"].is_null() => {
                problems.push(format!("acknowledged return of rental {rid} lost: {r}"))
            }
            Some(r) if !*tried && !r["returned_at"].is_null() => {
                problems.push(format!("rental {rid}, never returned, shows returned: {r}"))
            }
            Some(_) => {}
        }
    }
    // Acknowledged covers are DONE, linked, and their thumbnails readable.
    for (book, key) in &ledger.covers {
        match final_status.get(key) {
            Some(st) if st["status"] == "DONE" => {}
            other => problems.push(format!(
                "acknowledged cover {key} of book {book} did not end DONE: {other:?}"
            )),
        }
        let b = by_id.get(book.as_str());
        if b.and_then(|b| b["cover"]["key"].as_str()) != Some(key.as_str()) {
            problems.push(format!("book {book} does not show its cover {key}: {b:?}"));
            continue;
        }
        if b.is_some_and(|b| b["cover"]["thumbnail_url"].is_string()) {
            let r = http(
                addr,
                token,
                "GET",
                &format!("/api/books/{book}/cover/thumb"),
                "text/plain",
                b"",
            )
            .await;
            match r {
                Ok(r) if r.status == 200 || r.status == 307 => {}
                Ok(r) => problems.push(format!("thumbnail of {book}: {} {}", r.status, r.text())),
                Err(e) => problems.push(format!("thumbnail of {book}: {e}")),
            }
        } else {
            problems.push(format!("book {book}: no thumbnail after DONE"));
        }
    }
    // OCR: acknowledged jobs are there and read their image; every job has its
    // `created` event.
    let known: HashSet<&str> = jobs_seen.iter().map(String::as_str).collect();
    for id in &ledger.jobs {
        if !known.contains(id.as_str()) {
            problems.push(format!("acknowledged OCR job {id} lost"));
            continue;
        }
        if let Some(j) = job_views.get(id) {
            for item in j["items"].as_array().cloned().unwrap_or_default() {
                let text = item["text"].as_str().unwrap_or_default();
                if item["status"] != "DONE" || !text.contains("quick brown fox") {
                    problems.push(format!("OCR job {id}: item {item}"));
                }
            }
        }
    }
    for id in &jobs_seen {
        let events = history(addr, token, "job", id).await;
        if events.iter().filter(|e| e["action"] == "created").count() != 1 {
            problems.push(format!(
                "audit: OCR job {id} has {} `created` events, not 1",
                events.iter().filter(|e| e["action"] == "created").count()
            ));
        }
    }
    // Sales: every file once. Stock, kept daily totals and the totals of the lines
    // are exactly the files' sums.
    let mut want_stock: BTreeMap<String, i64> = BTreeMap::new();
    let mut want_days: BTreeMap<(&str, u32), (u64, i64, i64)> = BTreeMap::new();
    for f in &ledger.files {
        for l in &f.lines {
            *want_stock.entry(l.sku.clone()).or_default() -= l.qty;
            let d = want_days.entry((l.store, l.day)).or_default();
            d.0 += 1;
            d.1 += l.qty;
            d.2 += l.qty * l.cents;
        }
    }
    for (sku, qty) in &want_stock {
        let st = get_json(addr, token, &format!("/api/stock/{sku}")).await;
        let want = format!("{qty}.000");
        if st["quantity"].as_str() != Some(want.as_str()) {
            problems.push(format!(
                "stock of {sku}: {} instead of {want}",
                st["quantity"]
            ));
        }
    }
    for store in STORES {
        let range = format!("store={store}&from=2026-11-01&to=2026-11-{DAYS:02}");
        let kept = get_json(addr, token, &format!("/api/sales/daily?{range}")).await;
        let lines = get_json(
            addr,
            token,
            &format!("/api/sales/summary?group_by=day&{range}"),
        )
        .await;
        for day in 1..=DAYS {
            let key = format!("2026-11-{day:02}");
            let want = want_days.get(&(store, day)).copied().unwrap_or_default();
            let want = (want.0, format!("{}.000", want.1), want.2);
            for (what, rows) in [
                ("kept daily totals", &kept["days"]),
                ("summary", &lines["rows"]),
            ] {
                let got = rows
                    .as_array()
                    .and_then(|rows| rows.iter().find(|r| r["key"] == key.as_str()))
                    .map(|r| {
                        (
                            r["lines"].as_u64().unwrap_or(0),
                            r["quantity"].as_str().unwrap_or("").to_owned(),
                            r["revenue_cents"].as_i64().unwrap_or(0),
                        )
                    })
                    .unwrap_or((0, "0.000".into(), 0));
                if got != want {
                    problems.push(format!(
                        "sales {what} of {store} on {key}: {got:?} instead of {want:?} \
                         (lines, quantity, revenue cents)"
                    ));
                }
            }
        }
    }
    let file_names: Vec<String> = ledger.files.iter().map(|f| f.name.clone()).collect();
    // Each loaded file has one `ingested` event (no HTTP route reads a sales file's
    // history: through the library, on the same stores).
    let vars: HashMap<String, String> = p.env.iter().cloned().collect();
    let kcl = kcl::Kcl::open(&kcl::Config::from_vars(&vars).expect("config"))
        .await
        .expect("open the stores");
    for name in &file_names {
        let events = kcl
            .services
            .sales
            .history(name, 100)
            .await
            .expect("a file's history");
        let ingested = events
            .iter()
            .filter(|e| e.action.as_str() == "ingested")
            .count();
        if ingested != 1 {
            problems.push(format!(
                "audit: sales file {name} has {ingested} `ingested` events, not 1"
            ));
        }
    }
    kcl.close().await;

    if !problems.is_empty() {
        explain(p, log, &problems);
        // Where the lost tasks may be: the queues' counts, dead letters included.
        if let Ok(r) = http(addr, token, "GET", "/metrics", "text/plain", b"").await {
            for line in r.text().lines() {
                if line.starts_with("kcl_queue_messages") || line.starts_with("kcl_tasks_total") {
                    println!("{line}");
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} profile, seed {}: {} problem(s) after the crashes:\n  {}\n(log tail:)\n{}",
        p.name,
        seed(),
        problems.len(),
        problems.join("\n  "),
        log_tail(log)
    );
}

/// Keeps the log of a failed run (the test's folder goes away) and prints every
/// line about the ids the problems name, and about the task messages those lines
/// name: what happened to a lost task, in order.
fn explain(p: &Profile, log: &std::path::Path, problems: &[String]) {
    let kept = std::env::temp_dir().join(format!("kcl-crash-{}-{}.log", p.name, seed()));
    let _ = std::fs::copy(log, &kept);
    let is_id = |w: &&str| w.len() == 36 && w.bytes().filter(|b| *b == b'-').count() == 4;
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(is_id)
            .map(str::to_owned)
            .collect()
    };
    let mut ids: Vec<String> = problems.iter().flat_map(|pr| words(pr)).collect();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // Twice: the lines about the ids name the messages that carried them.
    for _ in 0..2 {
        let more: Vec<String> = text
            .lines()
            .filter(|l| ids.iter().any(|id| l.contains(id.as_str())))
            .flat_map(words)
            .collect();
        ids.extend(more);
        ids.sort();
        ids.dedup();
    }
    let about: Vec<&str> = text
        .lines()
        .filter(|l| ids.iter().any(|id| l.contains(id.as_str())))
        .take(120)
        .collect();
    println!(
        "{} profile: log kept at {}; its {} line(s) about the ids in the problems:\n{}",
        p.name,
        kept.display(),
        about.len(),
        about.join("\n")
    );
}

/// The servers' shared HS256 secret.
static SECRET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("crash test secret {}", uuid::Uuid::new_v4()));

/// Variables every profile sets.
fn base_env(dir: &Path) -> Vec<(String, String)> {
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    [
        ("KCL_AUTH_JWT_SECRET", SECRET.as_str()),
        ("KCL_SPOOL_DIR", spool.to_str().unwrap()),
        ("KCL_LIST_CACHE_TTL_SECS", "0"),
        ("KCL_WORKER_CONCURRENCY", "2"),
        ("KCL_SALES_PARQUET", "off"),
        // What happened to each OCR job's and each task's messages, for `explain`.
        (
            "KCL_LOG",
            "warn,kcl_core::services::jobs=info,kcl_adapters::worker=info",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_profile_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    env.push((
        "KCL_DATA_DIR".into(),
        dir.path().join("data").display().to_string(),
    ));
    let mut points = common_points(Who::Server);
    points.insert(3, ("sales.lines.inserted", Who::Server));
    run_profile(Profile {
        name: "embedded",
        env,
        worker: false,
        points,
        dir: dir.path().to_owned(),
    })
    .await;
}

#[cfg(feature = "aws")]
use kcl_aws::testkit::TestDatabase;

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_profile_survives_kill_9() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let db_url = db.url().to_owned();
    let Some(aws) = kcl_core::testkit::services::aws_endpoint() else {
        return;
    };
    // The library opened by the check reads the AWS settings from the standard
    // variables, as a deployment does (the processes get them in their own).
    std::env::set_var("AWS_ENDPOINT_URL", &aws);
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let dir = tempfile::tempdir().unwrap();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let mut env = base_env(dir.path());
    for (k, v) in [
        ("KCL_DATABASE_URL", db_url.clone()),
        ("KCL_BLOBS", format!("s3://kcl-crash-{tag}/media")),
        ("KCL_QUEUE", format!("sqs://kcl-crash-{tag}")),
        ("KCL_AUDIT", format!("dynamodb://kcl-crash-{tag}")),
        ("KCL_AUTO_PROVISION", "1".into()),
        ("AWS_ENDPOINT_URL", aws.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ] {
        env.push((k.to_owned(), v));
    }
    run_profile(Profile {
        name: "aws",
        env,
        worker: true,
        points: common_points(Who::Worker),
        dir: dir.path().to_owned(),
    })
    .await;
    db.drop_now().await;
}
