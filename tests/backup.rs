//! `kcl backup` and `kcl restore` run as an operator runs them: backups of a running
//! `kcl serve` (the binary) taken while clients create books, upload and replace
//! covers, delete books and rent copies over HTTP; each restores into a fresh data
//! dir where every invariant holds (integrity check, every referenced blob present,
//! rented copies equal to active rentals), and a server started on it serves the
//! books and covers to a token of the original server. Then the refusals: a
//! non-empty backup folder, data already in place, a running server, a damaged
//! manifest or database, and the AWS profile.
#![cfg(all(
    feature = "cli",
    feature = "local",
    feature = "http",
    feature = "media"
))]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kcl::domain::Isbn;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

#[path = "support/kcl_proc.rs"]
mod kcl_proc;
use kcl_proc::kcl_command;

/// A `kcl` command with no KCL_* variable but `vars`.
fn command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = kcl_command();
    cmd.envs(vars.iter().copied()).args(args);
    cmd
}

/// Runs `kcl ARGS` to the end.
fn kcl(args: &[&str], vars: &[(&str, &str)]) -> Output {
    command(args, vars)
        .stdin(Stdio::null())
        .output()
        .expect("the kcl binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `kcl ARGS` must succeed; its standard output.
fn ok(args: &[&str], vars: &[(&str, &str)]) -> String {
    let out = kcl(args, vars);
    assert!(out.status.success(), "kcl {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kcl ARGS` must fail with one line `kcl: ...` containing `expected`.
fn refused(args: &[&str], vars: &[(&str, &str)], expected: &str) -> String {
    let out = kcl(args, vars);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "kcl {args:?}: {err}");
    assert!(err.starts_with("kcl: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(expected), "kcl {args:?}: {err}");
    err
}

fn data_var(dir: &Path) -> [(&'static str, String); 1] {
    [("KCL_DATA_DIR", dir.display().to_string())]
}

fn vars<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A `kcl serve` process on a data dir, stopped (SIGTERM, then SIGKILL) on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `kcl serve` on a free port, read from its log.
    fn start(data: &Path) -> Self {
        let data = data.display().to_string();
        let mut child = command(
            &["serve"],
            &[
                ("KCL_DATA_DIR", &data),
                ("KCL_HTTP_ADDR", "127.0.0.1:0"),
                ("KCL_LOG", "warn,kcl::server=info"),
                ("KCL_WORKER_CONCURRENCY", "2"),
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcl serve starts");
        let log = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log until the server says where it listens, then drains it.
        std::thread::spawn(move || {
            let (mut seen, mut tx) = (String::new(), Some(tx));
            for line in BufReader::new(log).lines() {
                let Ok(line) = line else { break };
                let Some(sender) = tx.as_ref() else { continue };
                match line.find("serving on http://") {
                    Some(at) => {
                        let addr: String = line[at + "serving on http://".len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                            .collect();
                        let _ = sender.send(Ok(addr));
                        tx = None;
                    }
                    None => {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
            }
            if let Some(sender) = tx {
                let _ = sender.send(Err(seen));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(addr)) => addr.parse().expect("an address in the log"),
            Ok(Err(log)) => panic!("kcl serve stopped before listening:\n{log}"),
            Err(e) => panic!("kcl serve did not say where it listens in 60 s: {e}"),
        };
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kcl_proc::stop(&mut self.child);
    }
}

/// One HTTP/1.1 request with a bearer token; status and body.
async fn call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let r = kcl_proc::http(addr, token, method, path, content_type, body)
        .await
        .expect("a complete answer");
    (r.status, r.body)
}

async fn json_call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let (status, bytes) = call(
        addr,
        token,
        method,
        path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A small PNG, different for each `n`.
fn png(n: u64) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([x as u8 * 3, y as u8 * 5, (n * 37 % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

async fn create_book(addr: SocketAddr, token: &str, n: u64) -> String {
    let (status, body) = json_call(
        addr,
        token,
        "POST",
        "/api/books",
        json!({
            "title": format!("Livro {n}"),
            "author": "Autora",
            "isbn": Isbn::synthetic(n).as_str(),
            "year": 1990,
            "copies": 3,
            "price_cents": 1000,
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("an id").to_owned()
}

async fn upload_cover(addr: SocketAddr, token: &str, book: &str, n: u64) {
    let (status, body) = call(
        addr,
        token,
        "POST",
        &format!("/api/books/{book}/cover"),
        "image/png",
        &png(n),
    )
    .await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
}

/// A read-only connection to a restored database.
async fn open(db: &Path) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .expect("the restored database opens")
}

/// Every invariant of a restored data dir; returns its book ids.
async fn check_restored(data: &Path) -> Vec<String> {
    let mut db = open(&data.join("kcl.db")).await;
    let findings: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(findings, ["ok"]);
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT cover_key FROM books WHERE cover_key IS NOT NULL \
         UNION SELECT thumb_key FROM books WHERE thumb_key IS NOT NULL \
         UNION SELECT key FROM ocr_items",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(!keys.is_empty(), "the backup holds covers");
    for key in &keys {
        assert!(
            data.join("blobs/objects").join(key).is_file(),
            "{}: the restored database references {key}, missing from the blobs",
            data.display()
        );
    }
    let wrong: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT b.id, b.rented, (SELECT COUNT(*) FROM rentals r \
           WHERE r.book_id = b.id AND r.returned_at IS NULL) AS active \
         FROM books b WHERE b.rented <> active OR b.rented > b.copies",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(
        wrong.is_empty(),
        "rented copies differ from active rentals: {wrong:?}"
    );
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM books")
        .fetch_all(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    ids
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("backup.json")).expect("a manifest"))
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_during_writes_restore_with_every_invariant() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let server = Server::start(&live);
    let addr = server.addr;
    let token: Arc<str> = ok(
        &["auth", "mint-token", "--role", "admin"],
        &vars(&data_var(&live)),
    )
    .trim()
    .into();

    // Books present before any backup starts, each with a cover.
    let mut before = Vec::new();
    for n in 0..8 {
        let id = create_book(addr, &token, n).await;
        upload_cover(addr, &token, &id, n).await;
        before.push(id);
    }
    let before = Arc::new(before);

    // Three clients until the backups are done: new books with covers (every other
    // one deleted again), covers replaced on the first books, copies rented and
    // returned.
    let stop = Arc::new(AtomicBool::new(false));
    let rounds: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let mut clients = Vec::new();
    for client in 0..3usize {
        let (stop, rounds, token, before) =
            (stop.clone(), rounds.clone(), token.clone(), before.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0u64;
            let mut outstanding = std::collections::HashMap::new();
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                match client {
                    0 => {
                        let n = 1000 + i;
                        let id = create_book(addr, &token, n).await;
                        upload_cover(addr, &token, &id, n).await;
                        if i.is_multiple_of(2) {
                            let (status, _) = call(
                                addr,
                                &token,
                                "DELETE",
                                &format!("/api/books/{id}"),
                                "application/json",
                                b"",
                            )
                            .await;
                            assert_eq!(status, 204);
                        }
                    }
                    1 => {
                        let book = &before[(i % 4) as usize];
                        upload_cover(addr, &token, book, 2000 + i).await;
                    }
                    _ => {
                        // One rental stays out per book: the previous one is returned.
                        let k = 4 + (i % 4) as usize;
                        let (status, rental) = json_call(
                            addr,
                            &token,
                            "POST",
                            "/api/rentals",
                            json!({"book_id": before[k], "renter": format!("r{i}")}),
                        )
                        .await;
                        assert_eq!(status, 201, "{rental}");
                        let id = rental["id"].as_str().unwrap().to_owned();
                        if let Some(previous) = outstanding.insert(k, id) {
                            let (status, body) = json_call(
                                addr,
                                &token,
                                "POST",
                                &format!("/api/rentals/{previous}/return"),
                                json!({}),
                            )
                            .await;
                            assert_eq!(status, 200, "{body}");
                        }
                    }
                }
                rounds[client].fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Every client is under way before the first backup.
    while rounds.iter().any(|r| r.load(Ordering::SeqCst) == 0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let total = |r: &[AtomicU64; 3]| r.iter().map(|n| n.load(Ordering::SeqCst)).sum::<u64>();
    let at_start = total(&rounds);
    let mut backups = Vec::new();
    for b in 0..3 {
        let dir = tmp.path().join(format!("backup-{b}"));
        let args = ["backup".to_owned(), dir.display().to_string()];
        let env = data_var(&live);
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&args, &vars(&env))
        })
        .await
        .unwrap();
        assert!(out.starts_with("backed up "), "{out}");
        backups.push(dir);
    }
    println!(
        "{} client rounds (book + cover [+ delete], cover replaced, rental) during the backups",
        total(&rounds) - at_start
    );
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("a client ran without a failure");
    }

    // A restore into the live data dir is refused while its server runs, even with
    // --force.
    refused(
        &["restore", "--force", backups[0].to_str().unwrap()],
        &vars(&data_var(&live)),
        "is open in another process",
    );

    for (b, dir) in backups.iter().enumerate() {
        let restored = tmp.path().join(format!("restored-{b}"));
        let out = ok(
            &["restore", dir.to_str().unwrap()],
            &vars(&data_var(&restored)),
        );
        assert!(out.starts_with("restored "), "{out}");
        let ids = check_restored(&restored).await;
        for id in before.iter() {
            assert!(
                ids.contains(id),
                "book {id}, written before the backup, is in it"
            );
        }
        let m = manifest(dir);
        assert_eq!(m["database"]["tables"]["books"], ids.len());
        assert_eq!(m["missing_blobs"], json!([]));
    }
    drop(server);

    // A server on the last restore serves the books and their covers to a token of
    // the original server (auth.json came back too).
    let restored = tmp.path().join("restored-2");
    let server = Server::start(&restored);
    let (status, health) = json_call(server.addr, &token, "GET", "/health", json!(null)).await;
    assert_eq!(status, 200, "{health}");
    let (status, page) = json_call(
        server.addr,
        &token,
        "GET",
        "/api/books?limit=100",
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(
        items.len() as u64,
        manifest(&backups[2])["database"]["tables"]["books"]
            .as_u64()
            .unwrap()
    );
    let mut db = open(&restored.join("kcl.db")).await;
    let covers: Vec<(String, String)> =
        sqlx::query_as("SELECT id, cover_key FROM books WHERE cover_key IS NOT NULL")
            .fetch_all(&mut db)
            .await
            .unwrap();
    db.close().await.unwrap();
    assert!(covers.len() >= before.len());
    for (id, key) in covers {
        let (status, bytes) = call(
            server.addr,
            &token,
            "GET",
            &format!("/api/books/{id}/cover"),
            "application/json",
            b"",
        )
        .await;
        assert_eq!(status, 200, "the cover of {id}");
        assert_eq!(
            bytes,
            std::fs::read(restored.join("blobs/objects").join(&key)).unwrap()
        );
    }
}

/// A data dir with a few books made by the binary, and its backup.
fn seeded_backup(tmp: &Path) -> (PathBuf, PathBuf) {
    let data = tmp.join("data");
    let env = data_var(&data);
    ok(&["seed", "12"], &vars(&env));
    // A stand-in for the auth.json a first server start writes (the other test
    // starts servers): a backup carries it as it is.
    std::fs::write(data.join("auth.json"), b"{\"users\": []}").unwrap();
    let backup = tmp.join("backup");
    ok(&["backup", backup.to_str().unwrap()], &vars(&env));
    (data, backup)
}

/// A copy of the backup folder `src` with `change` applied to it.
fn altered(src: &Path, dst: &Path, change: impl FnOnce(&Path)) -> PathBuf {
    let out = Command::new("cp")
        .args(["-a", src.to_str().unwrap(), dst.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(out.success());
    change(dst);
    dst.to_owned()
}

#[test]
fn refusals_leave_everything_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, backup) = seeded_backup(tmp.path());
    let env = data_var(&data);

    // A backup folder that is not empty.
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), b"mine").unwrap();
    refused(
        &["backup", full.to_str().unwrap()],
        &vars(&env),
        "exists and is not empty",
    );
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);

    // Data in place: refused, then replaced with --force.
    refused(
        &["restore", backup.to_str().unwrap()],
        &vars(&env),
        "already holds data: restore with --force",
    );
    ok(&["seed", "3", "500"], &vars(&env));
    let out = ok(
        &["restore", "--force", backup.to_str().unwrap()],
        &vars(&env),
    );
    assert!(out.starts_with("restored 12 books"), "{out}");

    // Damaged backups, each restored into a fresh data dir that stays empty.
    let fresh = tmp.path().join("fresh");
    let fresh_env = data_var(&fresh);
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            altered(&backup, &tmp.path().join("bad-json"), |d| {
                std::fs::write(d.join("backup.json"), b"{\"format\": 1,").unwrap()
            }),
            "not a usable backup manifest: unreadable JSON",
        ),
        (
            altered(&backup, &tmp.path().join("no-manifest"), |d| {
                std::fs::remove_file(d.join("backup.json")).unwrap()
            }),
            "not a usable backup manifest: missing",
        ),
        (
            altered(&backup, &tmp.path().join("wrong-count"), |d| {
                let mut m = manifest(d);
                m["database"]["tables"]["books"] = json!(13);
                std::fs::write(d.join("backup.json"), m.to_string()).unwrap();
            }),
            "books: 12 rows (the manifest says 13)",
        ),
        (
            altered(&backup, &tmp.path().join("flipped-byte"), |d| {
                let db = d.join("kcl.db");
                let mut bytes = std::fs::read(&db).unwrap();
                let last = bytes.len() - 1;
                bytes[last] ^= 0x5a;
                std::fs::write(&db, bytes).unwrap();
            }),
            "kcl.db does not match the backup's manifest",
        ),
        (
            altered(&backup, &tmp.path().join("not-a-database"), |d| {
                let db = d.join("kcl.db");
                let mut bytes = std::fs::read(&db).unwrap();
                bytes[..16].copy_from_slice(b"not a database!\0");
                std::fs::write(&db, bytes).unwrap();
            }),
            "is damaged",
        ),
        (
            altered(&backup, &tmp.path().join("extra-blob"), |d| {
                std::fs::write(d.join("blobs/extra"), b"x").unwrap()
            }),
            "blobs does not match the backup's manifest",
        ),
    ];
    for (dir, expected) in cases {
        refused(
            &["restore", dir.to_str().unwrap()],
            &vars(&fresh_env),
            expected,
        );
        let left: Vec<_> = std::fs::read_dir(&fresh)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{}: left {left:?}", dir.display());
    }

    // The AWS profile: its services back themselves up.
    let err = refused(
        &["backup", tmp.path().join("aws").to_str().unwrap()],
        &[("KCL_DATABASE_URL", "postgres://kcl:hunter2@localhost/kcl")],
        "docs/operations.md",
    );
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!tmp.path().join("aws").exists());

    // The forced restore of the start put the backup's state file back.
    assert_eq!(
        std::fs::read(data.join("auth.json")).unwrap(),
        b"{\"users\": []}"
    );
}
