//! A full disk on the embedded profile: the real `kcl serve` keeps its data folder
//! and its spool folder on a small tmpfs (8 MiB), which the test fills to the last
//! byte. Every write must then be refused with a clear `503` problem document and a
//! `Retry-After` (never a 500, never a 422 that blames the client), reads go on, and
//! nothing stored before is lost or half-written (the database passes SQLite's
//! integrity check, no temporary file is left). Once space is freed, writes work
//! again, the thumbnail worker included.
//!
//! Mounting needs root: the test is skipped with a reason otherwise, unless
//! `KCL_TEST_REQUIRE_ALL=1` (CI runs as root), where it fails instead.
#![cfg(all(feature = "cli", feature = "local", feature = "media"))]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kcl::domain::Isbn;
use serde_json::{json, Value};

#[path = "support/kcl_proc.rs"]
mod kcl_proc;
#[cfg(feature = "tesseract")]
#[path = "support/multipart.rs"]
mod multipart;
use kcl_proc::{http, log_tail, start, Proc, Resp};

/// A tmpfs mounted for the test; unmounted (after the server stops) when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts `size` of tmpfs on `dir`; `Err` says why not.
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("cannot run `id -u`: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root: cannot mount a tmpfs".into());
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Fills the file system of `path` to the last byte; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("the filler file");
    let mut written = 0u64;
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let buf = vec![0u8; chunk];
        loop {
            match f.write(&buf) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    let _ = f.sync_all();
    written
}

struct Client {
    addr: SocketAddr,
    token: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, ct: &str, body: &[u8]) -> Resp {
        http(self.addr, &self.token, method, path, ct, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }
    async fn json(&self, method: &str, path: &str, body: Value) -> Resp {
        self.call(
            method,
            path,
            "application/json",
            body.to_string().as_bytes(),
        )
        .await
    }
    async fn get(&self, path: &str) -> Value {
        let r = self.call("GET", path, "text/plain", b"").await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// Rents a copy of `book` to `renter`, which must succeed.
    async fn rent(&self, book: &str, renter: &str, due: &str) {
        let rental = json!({"book_id": book, "renter": renter, "due_date": due});
        let r = self.json("POST", "/api/rentals", rental).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }

    /// Uploads a cover (`cover_jpeg(seed)`) for `book`, which must be accepted and
    /// thumbnailed.
    async fn cover_done(&self, book: &str, seed: u32) {
        let path = format!("/api/books/{book}/cover");
        let r = self
            .call("POST", &path, "image/jpeg", &cover_jpeg(seed))
            .await;
        assert_eq!(r.status, 202, "{}", r.text());
        let st = wait_done(self, r.json()["status_url"].as_str().unwrap()).await;
        assert_eq!(st["status"], "DONE", "{st}");
    }

    /// Uploads the sales file `name` (`sales_csv(receipt, qty)`), which must load.
    async fn sales_file(&self, name: &str, receipt: &str, qty: u32) {
        let path = format!("/api/sales/files?name={name}");
        let csv = sales_csv(receipt, qty);
        let r = self.call("POST", &path, "text/csv", csv.as_bytes()).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
}

fn book(n: u64) -> Value {
    json!({
        "title": format!("Disk full book {n}"), "author": "Tester", "isbn": Isbn::synthetic(n).to_string(),
        "category": "Test", "year": 2001, "price_cents": 990, "copies": 2,
        "summary": "x".repeat(2000),
    })
}

fn cover_jpeg(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x + seed) as u8, (y * seed) as u8, ((x * y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn sales_csv(receipt: &str, qty: u32) -> String {
    format!(
        "loja;data;cupom;codigo;produto;quantidade;preco_unitario;total\r\n\
         S1;02/11/2026;{receipt};DF1;Produto;{qty};2,50;{},{:02}\r\n",
        qty * 250 / 100,
        qty * 250 % 100
    )
}

/// A refusal for lack of space: 503 (or 507), a problem document, `Retry-After`.
fn assert_refused_for_space(what: &str, r: &Resp, log: &Path) {
    assert!(
        r.status == 503 || r.status == 507,
        "{what} on a full disk: {} {} (a full disk is the server's problem: 503 + \
         Retry-After); the server's log:\n{}",
        r.status,
        r.text(),
        log_tail(log)
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{what}: {}",
        r.text()
    );
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Retry-After: {}", r.head));
    assert!((1..=3600).contains(&wait), "{what}: Retry-After {wait}");
    let p = r.json();
    assert!(
        p["code"].is_string() && p["detail"].is_string(),
        "{what}: {p}"
    );
}

async fn wait_done(c: &Client, status_url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = c.get(status_url).await;
        if st["status"] == "DONE" || st["status"] == "ERROR" {
            return st;
        }
        assert!(Instant::now() < deadline, "not processed in 60 s: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every file under `dir` (relative paths), sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

async fn integrity_check(db: &Path) -> String {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database read-only");
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    rows.join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    let _mount = match Tmpfs::mount(&disk, "8m") {
        Ok(m) => m,
        Err(why) => {
            kcl_core::testkit::services::skip(why);
            return;
        }
    };
    let data = disk.join("data");
    let spool = disk.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let secret = format!("disk full test secret {}", uuid::Uuid::new_v4());
    let env: Vec<(String, String)> = [
        ("KCL_DATA_DIR", data.display().to_string()),
        ("KCL_SPOOL_DIR", spool.display().to_string()),
        ("KCL_AUTH_JWT_SECRET", secret.clone()),
        ("KCL_LIST_CACHE_TTL_SECS", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // The log lives off the small disk.
    let log = tmp.path().join("server.log");
    let server: Proc = start("serve", &env, None, &log).await;
    let c = Client {
        addr: server.addr,
        token: kcl::http::auth::TokenIssuer::hs256(secret.as_bytes())
            .expect("an HS256 secret")
            .issue(
                "disk-full-test",
                kcl::http::auth::Role::Admin,
                Duration::from_secs(3600),
            ),
    };

    // Before: books, a rental, a cover with its thumbnail, a sales file.
    let mut books = Vec::new();
    for n in 0..3 {
        let r = c.json("POST", "/api/books", book(n)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        books.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    c.rent(&books[0], "ana", &due).await;
    c.cover_done(&books[1], 1).await;
    let thumb_path = format!("/api/books/{}/cover/thumb", books[1]);
    let thumb = c.call("GET", &thumb_path, "text/plain", b"").await;
    assert_eq!(thumb.status, 200);
    c.sales_file("before.csv", "B1", 4).await;
    let stock_before = c.get("/api/stock/DF1").await["quantity"].clone();
    assert_eq!(stock_before, "-4.000");
    let daily = "/api/sales/daily?store=S1&from=2026-11-01&to=2026-11-30";
    let daily_before = c.get(daily).await;
    let before: Vec<Value> = {
        let mut v = Vec::new();
        for id in &books {
            v.push(c.get(&format!("/api/books/{id}")).await);
        }
        v
    };
    let blobs = data.join("blobs");
    let blob_files = files_under(&blobs);

    // The disk fills up.
    let filler = disk.join("filler");
    let filled = fill(&filler);
    println!("disk full: {filled} bytes of filler");

    // Book writes: the database may still have room in its write-ahead log for a
    // while; the first refusal must be a 503, and every acknowledged book stays.
    let mut accepted = Vec::new();
    let mut refusal = None;
    for n in 100..3100 {
        let r = c.json("POST", "/api/books", book(n)).await;
        if r.status == 201 {
            accepted.push(r.json()["id"].as_str().unwrap().to_owned());
            continue;
        }
        refusal = Some(r);
        break;
    }
    let refusal = refusal.expect("3000 books written to a full 8 MiB disk: is the disk full?");
    assert_refused_for_space("a new book", &refusal, &log);
    println!(
        "disk full: {} books accepted before the first refusal",
        accepted.len()
    );
    let r = c
        .json(
            "POST",
            "/api/rentals",
            json!({"book_id": books[2], "renter": "bia", "due_date": due}),
        )
        .await;
    assert_refused_for_space("a rental", &r, &log);
    let r = c
        .call(
            "POST",
            &format!("/api/books/{}/cover", books[2]),
            "image/jpeg",
            &cover_jpeg(2),
        )
        .await;
    assert_refused_for_space("a cover upload", &r, &log);
    let r = c
        .call(
            "POST",
            "/api/sales/files?name=during.csv",
            "text/csv",
            sales_csv("D1", 7).as_bytes(),
        )
        .await;
    assert_refused_for_space("a sales file", &r, &log);
    #[cfg(feature = "tesseract")]
    {
        let r = ocr_job(&c).await;
        assert_refused_for_space("an OCR job", &r, &log);
    }
    // A little room: the upload fits in the spool, its rows (or the database) do not.
    {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap();
        let len = f.metadata().unwrap().len();
        f.set_len(len - 24 * 1024).unwrap();
    }
    let mut csv =
        String::from("loja;data;cupom;codigo;produto;quantidade;preco_unitario;total\r\n");
    for i in 0..300 {
        csv.push_str(&format!("S1;03/11/2026;R{i};DF2;Produto;1;2,50;2,50\r\n"));
    }
    let r = c
        .call(
            "POST",
            "/api/sales/files?name=tight.csv",
            "text/csv",
            csv.as_bytes(),
        )
        .await;
    assert_refused_for_space("a sales file with room for its upload only", &r, &log);
    // Reads go on.
    assert_eq!(c.get(&format!("/api/books/{}", books[1])).await, before[1]);
    assert_eq!(
        c.call("GET", &thumb_path, "text/plain", b"").await.body,
        thumb.body
    );

    // Space comes back.
    std::fs::remove_file(&filler).unwrap();
    // Nothing refused was half-stored, nothing earlier lost.
    for (id, was) in books.iter().zip(&before) {
        let now = c.get(&format!("/api/books/{id}")).await;
        assert_eq!(&now, was, "book {id} changed while the disk was full");
    }
    for id in &accepted {
        c.get(&format!("/api/books/{id}")).await;
    }
    assert_eq!(c.get("/api/stock/DF1").await["quantity"], stock_before);
    assert_eq!(c.get(daily).await, daily_before);
    let rentals = c.get(&format!("/api/rentals?book_id={}", books[2])).await;
    assert_eq!(rentals["items"], json!([]), "a refused rental was stored");
    assert_eq!(
        files_under(&blobs)
            .into_iter()
            .filter(|f| !f.starts_with("tmp/"))
            .collect::<Vec<_>>(),
        blob_files,
        "a refused upload left files in the blob store"
    );
    assert_eq!(
        files_under(&blobs.join("tmp")),
        Vec::<String>::new(),
        "temporary blob files left behind"
    );
    assert_eq!(
        files_under(&spool),
        Vec::<String>::new(),
        "spool files left behind"
    );
    assert_eq!(integrity_check(&data.join("kcl.db")).await, "ok");

    // Writes work again, the worker's too.
    let r = c.json("POST", "/api/books", book(5000)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    c.rent(&books[2], "bia", &due).await;
    c.cover_done(&books[2], 3).await;
    c.sales_file("after.csv", "A1", 7).await;
    assert_eq!(c.get("/api/stock/DF1").await["quantity"], "-11.000");
    #[cfg(feature = "tesseract")]
    {
        let r = ocr_job(&c).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let j = c.get(&format!("/api/jobs/{id}")).await;
            if j["status"] == "DONE" {
                break;
            }
            assert!(Instant::now() < deadline, "OCR not done in 60 s: {j}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut server = server;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died:\n{}",
        log_tail(&log)
    );
    drop(server);
}

#[cfg(feature = "tesseract")]
async fn ocr_job(c: &Client) -> Resp {
    let (content_type, form) = multipart::job_form(Some("full"), &[multipart::OCR_PNG]);
    c.call("POST", "/api/jobs", &content_type, &form).await
}
