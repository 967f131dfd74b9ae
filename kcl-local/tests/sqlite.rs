//! The SQLite store beyond the kits: it agrees with the in-memory reference on many
//! listings, keeps its data across reopening, never overbooks under concurrency
//! (also from two independent handles on one file), and its probe sees a closed pool.

use std::sync::Arc;

use chrono::Utc;
use kcl_core::ports::{Clock, SystemClock};
use kcl_core::testkit::reference::{plain_book, Reopening};
use kcl_local::{SqliteProbe, SqliteStore};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_agree_with_the_reference() {
    let sqlite = SqliteStore::in_memory().await.expect("open");
    // Both plans: sorting the filtered rows, and walking the sort index (threshold 1).
    let store = &sqlite;
    let plan = |t: i64| move || store.set_sort_index_threshold(t);
    let (default, walk) = (plan(SqliteStore::DEFAULT_SORT_INDEX_THRESHOLD), plan(1));
    kcl_core::testkit::reference::listings_agree(&sqlite, &sqlite, &[&default, &walk]).await;
    sqlite.set_sort_index_threshold(SqliteStore::DEFAULT_SORT_INDEX_THRESHOLD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn searches_past_the_dense_walk() {
    let sqlite = SqliteStore::in_memory().await.expect("open");
    // Threshold 1: every search alone with short terms walks the sort index first.
    sqlite.set_sort_index_threshold(1);
    kcl_core::testkit::book_repo::searches_past_a_walk(&sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn books_rentals_and_search_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kcl.db");
    let now = Clock::now(&SystemClock);
    let kept = Reopening::new(plain_book(11, 2, now), now);
    {
        let store = SqliteStore::open(&path).await.expect("open");
        kept.write(&store).await;
        store.close().await;
    }
    let store = SqliteStore::open(&path)
        .await
        .expect("reopen (migrations already applied)");
    kept.assert_kept(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_copies_go_to_exactly_as_many_renters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kcl.db");
    // Two independent stores on one file stand for two processes: their writers
    // contend for the file lock.
    let a = Arc::new(SqliteStore::open(&path).await.expect("open"));
    let b = Arc::new(SqliteStore::open(&path).await.expect("open"));
    kcl_core::testkit::rental_repo::concurrent_rentals_never_overbook(
        a.as_ref(),
        &[a.clone(), b.clone()],
        3,
        0,
        60,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_fails_once_the_store_is_closed() {
    let store = SqliteStore::in_memory().await.expect("open");
    let probe = SqliteProbe::new(&store);
    kcl_core::testkit::health_probe::fails_once_closed(&probe, &store, store.close()).await;
}

/// Listings keep read connections between uses; closing the store hands them back,
/// so closing ends (the pool's close waits for every connection), and a listing
/// after it is an error, not a wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_ends_while_listings_keep_connections() {
    use kcl_core::domain::{BookFilter, BookQuery};
    use kcl_core::ports::BookRepo;
    use std::time::Duration;

    let store = SqliteStore::in_memory().await.expect("open");
    let now = Clock::now(&SystemClock);
    for n in 0..30 {
        store
            .insert(
                &plain_book(n, 1, now),
                &kcl_core::testkit::fixtures::event(),
            )
            .await
            .expect("insert");
    }
    let query = BookQuery {
        filter: BookFilter::default(),
        sort: "title".parse().expect("sort"),
        after: None,
        limit: 20,
    };
    // More listings at once than connections are kept, and again: each kept
    // connection serves several.
    for _ in 0..3 {
        let mut listings = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (store, query) = (store.clone(), query.clone());
            listings.spawn(async move { store.list(&query).await });
        }
        for page in listings.join_all().await {
            assert_eq!(page.expect("list").len(), 20);
        }
    }
    // One listing still running while the store closes.
    let running = tokio::spawn({
        let store = store.clone();
        let query = query.clone();
        async move { store.list(&query).await }
    });
    tokio::time::timeout(Duration::from_secs(10), store.close())
        .await
        .expect("the store closes with listings' connections kept");
    let _ = running.await;
    let after = tokio::time::timeout(Duration::from_secs(10), store.list(&query))
        .await
        .expect("a listing after closing answers at once");
    assert!(after.is_err(), "{after:?}");
}

/// A store whose listings keep connections can outlive its runtime: dropping it
/// afterwards (no runtime to give connections back on) closes them, no panic.
#[test]
fn a_store_dropped_after_its_runtime_ended() {
    use kcl_core::domain::BookQuery;
    use kcl_core::ports::BookRepo;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = runtime.block_on(async {
        let store = SqliteStore::in_memory().await.expect("open");
        let query = BookQuery {
            filter: Default::default(),
            sort: "title".parse().expect("sort"),
            after: None,
            limit: 20,
        };
        store.list(&query).await.expect("list");
        store
    });
    drop(runtime);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_bad_path_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let err = SqliteStore::open(&file.join("kcl.db"))
        .await
        .expect_err("a file as a directory");
    assert!(matches!(err, kcl_local::LocalError::Io { .. }), "{err}");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 8192]).expect("write");
    let err = SqliteStore::open(&garbage)
        .await
        .expect_err("not a database");
    assert!(!err.to_string().is_empty());
}

/// A sales load commits its rows in batches (so rentals are not held up for its whole
/// length): one that fails after some batches were committed leaves nothing visible
/// or stored, and the same file loads afterwards as if nothing had happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sales_load_that_fails_midway_leaves_nothing() {
    use chrono::TimeZone;
    use kcl_core::domain::{
        GroupBy, LoadOutcome, Money, Quantity, RowSpool, SalesFile, SalesRow, SummaryQuery,
    };
    use kcl_core::memory::MemorySpooler;
    use kcl_core::ports::{SalesRepo, SpooledRows, Spooler};
    use std::sync::Arc;

    /// A spool that turns unreadable after its rows.
    #[derive(Debug)]
    struct Unreadable(Arc<dyn RowSpool>);
    impl RowSpool for Unreadable {
        fn file_id(&self) -> Uuid {
            self.0.file_id()
        }
        fn rows(&self) -> u64 {
            self.0.rows()
        }
        fn read(&self) -> std::io::Result<SpooledRows> {
            let broken = std::io::Error::new(std::io::ErrorKind::InvalidData, "not a row");
            Ok(Box::new(self.0.read()?.chain([Err(broken)])))
        }
        fn csv(&self) -> std::io::Result<Box<dyn std::io::Read + Send>> {
            self.0.csv()
        }
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("kcl.db"))
        .await
        .expect("open");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let rows = 25_000u64;
    let make = || {
        let file = SalesFile {
            id: Uuid::now_v7(),
            name: "sales/incoming/big.csv".into(),
            sha256: "sha-big".into(),
            rows,
            loaded_at: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
        };
        let mut spool = MemorySpooler.create(file.id).expect("spool");
        for line in 1..=rows {
            spool
                .push(&SalesRow {
                    store_id: "S1".into(),
                    sale_date: day,
                    receipt_id: None,
                    sku: format!("SKU{}", line % 50),
                    product_name: None,
                    quantity: Quantity::from_thousandths(1000),
                    unit_price: Money::from_cents(100).unwrap(),
                    total: None,
                    tax_cents: 0,
                    line,
                })
                .expect("spool row");
        }
        (file, spool.finish().expect("spool flush"))
    };
    let summary = |store: &SqliteStore| {
        let q = SummaryQuery {
            from: None,
            to: None,
            store: Some("S1".into()),
            sku: None,
            group_by: GroupBy::Store,
        };
        let store = store.clone();
        async move { store.summary(&q).await.expect("summary") }
    };

    // The spool turns unreadable after its 25,000 good rows: more than one batch of
    // rows was committed before the error.
    let (file, spool) = make();
    let spool = Unreadable(spool);
    assert!(store
        .load(&file, &spool, &kcl_core::testkit::fixtures::event())
        .await
        .is_err());
    assert!(summary(&store).await.is_empty(), "nothing of it is visible");
    assert_eq!(
        store
            .day_totals(&[kcl_core::domain::StoreDay {
                store_id: "S1".into(),
                date: day
            }])
            .await
            .unwrap()[0]
            .lines,
        0
    );
    assert!(
        store.stock("SKU1").await.unwrap().is_none(),
        "stock untouched"
    );
    assert_eq!(
        store.current_file("sales/incoming/big.csv").await.unwrap(),
        None
    );

    // Loaded again, whole: exactly its rows, once.
    let (file, spool) = make();
    match store
        .load(&file, &*spool, &kcl_core::testkit::fixtures::event())
        .await
        .expect("load")
    {
        LoadOutcome::Loaded { rows: n, .. } => assert_eq!(n, rows),
        other => panic!("{other:?}"),
    }
    let s = summary(&store).await;
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].lines, rows,
        "no line of the failed load was left behind"
    );
    store.close().await;

    // And on disk: no line of the failed load, no unpublished entry.
    let db = format!("sqlite://{}", dir.path().join("kcl.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .expect("connect");
    let lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales_lines")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(lines, rows as i64);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales_unpublished")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[cfg(unix)]
#[tokio::test]
async fn new_stores_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("kcl.db");
    let store = kcl_local::SqliteStore::open(&db).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600, "the database file");
    let blobs = dir.path().join("data").join("blobs");
    kcl_local::FsBlobStore::open(blobs.clone()).await.unwrap();
    assert_eq!(mode(&blobs), 0o700, "the blob folder");
    store.close().await;
}

/// Lines a crashed sales load committed (its `loading` entry no longer renewed) are
/// deleted when the store is next opened, not hours later; a load that is alive (its
/// entry renewed a moment ago, perhaps by another process on the same file) keeps
/// its lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_loads_lines_go_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kcl.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let now = Utc::now().timestamp_micros();
    // What a load leaves when killed between two of its commits.
    for (file, since) in [("dead", now - 120_000_000), ("alive", now)] {
        sqlx::query(
            "INSERT INTO sales_unpublished (file_id, kind, since) VALUES (?, 'loading', ?)",
        )
        .bind(file)
        .bind(since)
        .execute(store.pool())
        .await
        .expect("entry");
        for line in 1..=3 {
            sqlx::query(
                "INSERT INTO sales_lines (file_id, line, store_id, sale_date, sku, quantity, \
                 unit_price, revenue) VALUES (?, ?, 'S1', '2026-11-20', 'SKU', 1000, 100, 100)",
            )
            .bind(file)
            .bind(line)
            .execute(store.pool())
            .await
            .expect("line");
        }
    }
    store.close().await;
    let store = SqliteStore::open(&path).await.expect("reopen");
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT file_id, COUNT(*) FROM sales_lines GROUP BY file_id ORDER BY file_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("count");
    assert_eq!(
        left,
        vec![("alive".to_owned(), 3)],
        "the dead load's lines are gone"
    );
    let entries: Vec<String> = sqlx::query_scalar("SELECT file_id FROM sales_unpublished")
        .fetch_all(store.pool())
        .await
        .expect("entries");
    assert_eq!(entries, vec!["alive".to_owned()]);
}

/// A file an earlier KCL migrated, with its records in sqlx's default table beside
/// a host's own: KCL's move to `_kcl_migrations` when the store opens (nothing runs
/// twice: a second `CREATE TABLE` would fail), the host's stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_an_earlier_kcl_move_to_its_own_table() {
    use sqlx::sqlite::SqlitePoolOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kcl.db");
    let options = SqliteStore::connect_options(&path).create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    // What KCL did before: its migrations in sqlx's default table...
    sqlx::migrate!("./migrations").run(&pool).await.unwrap();
    let kcls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    // ...and a host's own record there too.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20260101, 'host', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let store = SqliteStore::open(&path)
        .await
        .expect("opened, nothing applied twice");
    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(store.pool())
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM _kcl_migrations").await, kcls);
    assert_eq!(
        count("SELECT COUNT(*) FROM _sqlx_migrations").await,
        1,
        "the host's record stays"
    );
    // Opened again: already moved, nothing to do.
    store.close().await;
    SqliteStore::open(&path)
        .await
        .expect("opened again")
        .close()
        .await;
}
