//! Reads on a PostgreSQL read replica (`KCL_DATABASE_READ_URL`), against a real
//! primary and a hot standby streaming its WAL (`scripts/services.sh` starts the pair:
//! `KCL_TEST_POSTGRES_PRIMARY_URL`, `KCL_TEST_POSTGRES_REPLICA_URL`; skipped when
//! unset unless `KCL_TEST_REQUIRE_ALL=1`). Lag is made on purpose by pausing the
//! standby's replay (`pg_wal_replay_pause()`).
//!
//! One machine cannot show a replica taking load off the primary: this checks
//! correctness. Listings and sales summaries are read on the standby once it has
//! replayed every write they must see; while it lags they are read on the primary;
//! the cache is never filled from the lagging standby; and a client that wrote on
//! one server reads its write on another (the session cookie), even when that
//! server's own cache knows nothing of the write.
#![cfg(all(feature = "aws", feature = "http"))]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kcl_aws::testkit::TestDatabase;
use kcl_core::testkit::services;
use serde_json::{json, Value};
use sqlx::Connection;

#[path = "support/app.rs"]
mod app;
use app::TestApp;

/// A server over the primary and the standby, with its own in-process cache (two
/// of them behave like two servers without a shared cache).
async fn server(primary_db: &str, replica_db: &str, dir: &std::path::Path) -> (kcl::Kcl, TestApp) {
    let vars: HashMap<String, String> = [
        ("KCL_DATA_DIR", dir.display().to_string()),
        ("KCL_DATABASE_URL", primary_db.to_owned()),
        ("KCL_DATABASE_READ_URL", replica_db.to_owned()),
        ("KCL_BLOBS", "memory://".to_owned()),
        ("KCL_QUEUE", "memory://".to_owned()),
        ("KCL_AUTH", "off".to_owned()),
        ("KCL_WORKER", "off".to_owned()),
        ("KCL_SALES_PARQUET", "off".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = kcl::Config::from_vars(&vars).expect("the configuration");
    let kcl = kcl::Kcl::open(&config)
        .await
        .expect("open over primary and replica");
    let app = TestApp::new(kcl::http::router(kcl.services.clone()));
    (kcl, app)
}

async fn sql(url: &str, statement: impl Into<String>) -> Option<String> {
    let statement: String = statement.into();
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(statement.clone()))
        .fetch_one(&mut conn)
        .await
        .expect(&statement);
    let _ = conn.close().await;
    v
}

/// Waits until the standby has replayed everything the primary has flushed.
async fn caught_up(primary_db: &str, replica_db: &str) {
    let target = sql(primary_db, "SELECT pg_current_wal_flush_lsn()::TEXT")
        .await
        .unwrap();
    let target: kcl_core::ports::LogPosition = target.parse().unwrap();
    let start = Instant::now();
    loop {
        let replayed = sql(replica_db, "SELECT pg_last_wal_replay_lsn()::TEXT").await;
        if replayed.and_then(|r| r.parse().ok()) >= Some(target) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the standby does not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The standby's replay is paused while this lives, resumed on drop (also when the
/// test fails, so the pair stays usable).
struct Paused(String);

impl Paused {
    async fn new(replica_db: &str) -> Self {
        sql(replica_db, "SELECT pg_wal_replay_pause()::TEXT").await;
        Self(replica_db.to_owned())
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let url = self.0.clone();
        // A thread of its own: the runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                sql(&url, "SELECT pg_wal_replay_resume()::TEXT").await;
            })
        })
        .join();
    }
}

fn book(n: u32, title: &str) -> Value {
    json!({"title": title, "author": "Machado de Assis",
           "isbn": kcl_core::domain::Isbn::synthetic(u64::from(n)).as_str(), "year": 1899})
}

fn titles(r: &app::Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_owned())
        .collect()
}

/// A GET with the cookies `cookie` (`name=value; ...`).
async fn get_with(app: &TestApp, uri: &str, cookie: Option<&str>) -> app::Reply {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

fn read_after_cookie(r: &app::Reply) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kcl_read_after="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_a_replica_only_once_it_has_every_write_they_must_see() {
    let Some([primary, replica]) = services::vars([
        "KCL_TEST_POSTGRES_PRIMARY_URL",
        "KCL_TEST_POSTGRES_REPLICA_URL",
    ]) else {
        return;
    };
    let db = TestDatabase::create_on(&format!("{primary}/postgres")).await;
    let primary_db = db.url().to_owned();
    let name = primary_db.rsplit('/').next().unwrap().to_owned();
    let replica_db = format!("{replica}/{name}");
    let dir = tempfile::tempdir().unwrap();
    // The database and KCL's schema (migrated on the primary by the first start)
    // reach the standby by replay.
    let start = Instant::now();
    while sqlx::PgConnection::connect(&replica_db).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no database on the standby"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (a, app_a) = server(&primary_db, &replica_db, &dir.path().join("a")).await;
    let (b, app_b) = server(&primary_db, &replica_db, &dir.path().join("b")).await;

    // Not a standby: refused at start, naming the variable.
    let mut vars: HashMap<String, String> = HashMap::from([
        (
            "KCL_DATA_DIR".to_owned(),
            dir.path().join("c").display().to_string(),
        ),
        ("KCL_DATABASE_URL".to_owned(), primary_db.clone()),
        ("KCL_DATABASE_READ_URL".to_owned(), primary_db.clone()),
        ("KCL_AUTH".to_owned(), "off".to_owned()),
    ]);
    let e = kcl::Kcl::open(&kcl::Config::from_vars(&vars).unwrap())
        .await
        .err()
        .expect("a primary is no read replica");
    let text = format!("{e}: {:?}", std::error::Error::source(&e));
    assert!(text.contains("KCL_DATABASE_READ_URL"), "{text}");
    assert!(text.contains("not a standby"), "{text}");
    vars.insert("KCL_DATABASE_URL".to_owned(), "sqlite://x.db".to_owned());
    assert_eq!(
        kcl::Config::from_vars(&vars).unwrap_err().variable,
        "KCL_DATABASE_READ_URL"
    );

    // 1. A write on each server; the standby replays them.
    let r = app_a
        .call(
            axum::http::Method::POST,
            "/api/books",
            Some(book(1, "Dom Casmurro")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = r.body["id"].as_str().unwrap().to_owned();
    let cookie_a = read_after_cookie(&r).expect("a write hands back its log position");
    let r = app_b
        .call(
            axum::http::Method::POST,
            "/api/books",
            Some(book(2, "Helena")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    caught_up(&primary_db, &replica_db).await;

    // 2. Listings are read on the standby once it has replayed the last write: a
    // change made behind KCL's back (no generation renewed) after the standby was
    // paused is not seen, because the standby answered.
    let paused = Paused::new(&replica_db).await;
    sql(
        &primary_db,
        format!("UPDATE books SET title = 'Changed behind KCL' WHERE id = '{first}' RETURNING 'x'"),
    )
    .await;
    let seen = titles(&app_a.get("/api/books?sort=title").await);
    assert_eq!(seen, ["Dom Casmurro", "Helena"], "the standby answered");
    // With the generation renewed by hand (no position recorded), the primary
    // answers.
    a.services.catalog.invalidate().await;
    let seen = titles(&app_a.get("/api/books?sort=title").await);
    assert_eq!(
        seen,
        ["Changed behind KCL", "Helena"],
        "the primary answered"
    );

    // 3. A write while the standby lags: its listing comes from the primary, and
    // that is what is cached (the lagging standby never refills the cache).
    let r = app_a
        .call(
            axum::http::Method::POST,
            "/api/books",
            Some(book(3, "Iaiá Garcia")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cookie_a2 = read_after_cookie(&r).expect("a later position");
    assert_ne!(cookie_a, cookie_a2);
    for _ in 0..2 {
        let seen = titles(&app_a.get("/api/books?sort=title").await);
        assert_eq!(seen, ["Changed behind KCL", "Helena", "Iaiá Garcia"]);
    }

    // 4. Server B knows nothing of A's write (its own cache, its generation's
    // position is older): without the client's cookie it reads the paused standby...
    let seen = titles(&get_with(&app_b, "/api/books?sort=title&limit=50", None).await);
    assert_eq!(seen, ["Dom Casmurro", "Helena"], "B read the standby");
    // ...and with the cookie of the client that wrote on A, the primary.
    let seen = titles(&get_with(&app_b, "/api/books?sort=title&limit=51", Some(&cookie_a2)).await);
    assert_eq!(
        seen,
        ["Changed behind KCL", "Helena", "Iaiá Garcia"],
        "read your writes"
    );

    // 5. Sales summaries: a file loaded while the standby lags is summed (the
    // primary answers); B, with the writer's cookie, too.
    let csv = "store_id,sale_date,sku,quantity,unit_price\nS1,2026-11-20,A,2,10.00\n";
    let r = app_a
        .post(
            "/api/sales/files?name=sales/incoming/s1.csv",
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cookie_sales = read_after_cookie(&r).expect("a sales load hands back its position");
    let summary = app_a.get("/api/sales/summary?group_by=store").await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(
        summary.body["rows"][0]["revenue_cents"], 2000,
        "{}",
        summary.text
    );
    let summary = get_with(
        &app_b,
        "/api/sales/summary?group_by=store",
        Some(&cookie_sales),
    )
    .await;
    assert_eq!(
        summary.body["rows"][0]["revenue_cents"], 2000,
        "{}",
        summary.text
    );

    // 6. Replay resumes; once the standby has caught up with B's next write, B's
    // listings are read there again (a change behind KCL's back after a new pause
    // is not seen), with everything written so far.
    drop(paused);
    caught_up(&primary_db, &replica_db).await;
    sql(
        &primary_db,
        format!("UPDATE books SET title = 'Dom Casmurro' WHERE id = '{first}' RETURNING 'x'"),
    )
    .await;
    let r = app_b
        .call(
            axum::http::Method::POST,
            "/api/books",
            Some(book(4, "Quincas Borba")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    caught_up(&primary_db, &replica_db).await;
    let _paused = Paused::new(&replica_db).await;
    sql(
        &primary_db,
        format!("UPDATE books SET title = 'Behind again' WHERE id = '{first}' RETURNING 'x'"),
    )
    .await;
    let seen = titles(&get_with(&app_b, "/api/books?sort=title&limit=52", None).await);
    assert_eq!(
        seen,
        ["Dom Casmurro", "Helena", "Iaiá Garcia", "Quincas Borba"],
        "the caught-up standby answered"
    );
    drop(_paused);
    a.close().await;
    b.close().await;
    db.drop_now().await;
}
