//! The Postgres store against a real server: the port conformance kits, agreement
//! with the in-memory reference on many listings, and two servers (two pools) on
//! one database that never overbook a book.
//!
//! The server comes from `KCL_TEST_POSTGRES_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`); every test creates a database of its
//! own on it (`kcl_test_<random>`) and drops it at the end, so tests run in parallel.
//! Unset, the tests print `skipped: ...` and pass, unless `KCL_TEST_REQUIRE_ALL=1`
//! (`kcl_aws::testkit::TestDatabase`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kcl_aws::testkit::TestDatabase;
use kcl_aws::{AwsError, PgProbe, PgQueue, PgStore};
use kcl_core::domain::{Book, BookDraft, BookFilter, BookId, BookQuery, Isbn, SearchTerms};
use kcl_core::ports::{
    BookRepo, BookRepoError, QueueConfig, QueueError, QueueStats, ReceiptHandle, RentalRepo,
    TaskQueue,
};
use kcl_core::testkit;
use kcl_core::testkit::reference::{at, Reopening};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_read_committed_with_bounded_waits() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    for (setting, expected) in [
        ("transaction_isolation", "read committed"),
        ("statement_timeout", "15s"),
        ("lock_timeout", "10s"),
        ("idle_in_transaction_session_timeout", "30s"),
    ] {
        let (value,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(store.pool())
            .await
            .expect("show");
        assert_eq!(value, expected, "{setting}");
    }
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn book_repo_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::book_repo::run(&store).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::book_repo::run(&store).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rental_repo_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    let books: Arc<dyn BookRepo> = store.clone();
    let rentals: Arc<dyn RentalRepo> = store.clone();
    testkit::rental_repo::run(books, rentals).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_carry_their_audit_events_into_the_log_or_the_outbox() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    // The audit log in this database: events go straight into it.
    testkit::audit_log::travels_with_writes(&store, &store, &store, &store).await;
    // The audit log elsewhere (DynamoDB): events wait in the outbox for the relay.
    store.set_audit_outbox(true);
    let elsewhere = kcl_core::memory::MemoryAuditLog::default();
    testkit::audit_log::travels_with_writes(&store, &store, &elsewhere, &store).await;
    testkit::audit_log::relay_keeps_what_the_log_refuses(&store, &store).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_log_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::audit_log::run(&store).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_store_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::status_store::run(Arc::new(store.clone())).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_repo_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::job_repo::run(Arc::new(store.clone())).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::job_repo::run(Arc::new(store.clone())).await;
    testkit::job_repo::transitions_reach_the_history(&store, &store, &store).await;
    store.set_audit_outbox(true);
    let log = kcl_core::memory::MemoryAuditLog::default();
    testkit::job_repo::transitions_reach_the_history(&store, &store, &log).await;
    store.set_audit_outbox(false);
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_repo_edges() {
    use kcl_core::domain::ItemResult;
    use kcl_core::ports::{JobRepo, JobRepoError};
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let pg = db.store().await;
    let store: &dyn JobRepo = &pg;
    let ttl = chrono::Duration::days(1);
    let (a, a_items) = testkit::job_repo::job("a", Utc::now(), 2, 0, ttl);
    store
        .create(&a, &a_items, &kcl_core::testkit::fixtures::event())
        .await
        .expect("create");
    // An item id another job holds: Duplicate, and nothing of the job is stored.
    let (b, mut b_items) = testkit::job_repo::job("b", Utc::now(), 2, 0, ttl);
    b_items[1].id = a_items[0].id;
    b_items[1].job_id = b.id;
    assert!(matches!(
        store.create(&b, &b_items, &kcl_core::testkit::fixtures::event()).await,
        Err(JobRepoError::Duplicate(id)) if id == a_items[0].id.to_string()
    ));
    assert!(matches!(
        store.get(b.id).await,
        Err(JobRepoError::NotFound(_))
    ));
    // Text PostgreSQL cannot hold is refused, not mangled.
    let (c, c_items) = testkit::job_repo::job("nul\0name", Utc::now(), 1, 0, ttl);
    assert!(matches!(
        store
            .create(&c, &c_items, &kcl_core::testkit::fixtures::event())
            .await,
        Err(JobRepoError::InvalidInput(_))
    ));
    assert!(matches!(
        store
            .finish_item(
                a.id,
                a_items[0].id,
                &ItemResult::Error("x\0".into()),
                Utc::now(),
                &kcl_core::testkit::fixtures::event()
            )
            .await,
        Err(JobRepoError::InvalidInput(_))
    ));
    assert!(matches!(
        store.get(c.id).await,
        Err(JobRepoError::NotFound(_))
    ));
    pg.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn searches_past_the_dense_walk() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let pg = db.store().await;
    // Threshold 1: every search alone walks the sort index first.
    pg.set_sort_index_threshold(1);
    testkit::book_repo::searches_past_a_walk(&pg).await;
    pg.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_agree_with_the_reference() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let pg = db.store().await;
    // The thresholds select each plan: the default, one statement planned by
    // PostgreSQL (1), and collecting the filtered rows then sorting them (a threshold
    // no count reaches).
    let store = &pg;
    let plan = |t: i64| move || store.set_sort_index_threshold(t);
    let (default, planned, collected) = (
        plan(PgStore::DEFAULT_SORT_INDEX_THRESHOLD),
        plan(1),
        plan(i64::MAX),
    );
    testkit::reference::listings_agree(&pg, &pg, &[&default, &planned, &collected]).await;
    pg.set_sort_index_threshold(PgStore::DEFAULT_SORT_INDEX_THRESHOLD);
    pg.close().await;
    db.drop_now().await;
}

fn plain_book(n: u64, copies: i64) -> Book {
    testkit::reference::plain_book(n, copies, Utc::now())
}

/// A store on `db` with a pool of `connections`, holding three plain books.
async fn store_of_three_books(db: &TestDatabase, connections: u32) -> PgStore {
    let options = PgStore::pool_options().max_connections(connections);
    let store = PgStore::connect_with(db.options(), options)
        .await
        .expect("store");
    for n in 0..3 {
        store
            .insert(&plain_book(n, 1), &kcl_core::testkit::fixtures::event())
            .await
            .expect("insert");
    }
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_survives_reconnecting_and_times_round_trip() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut book = plain_book(11, 2);
    // Times the domain can hold, at microsecond precision.
    book.created_at = at(-62_135_596_800_000_001);
    book.updated_at = at(253_402_300_799_999_999);
    let kept = Reopening::new(book, at(1_234_567));
    {
        let store = db.store().await;
        kept.write(&store).await;
        store.close().await;
    }
    let store = db.store().await; // migrations already applied
    kept.assert_kept(&store).await;
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_never_overbook() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    // Two stores with pools of their own stand for two servers on one database; two
    // copies are out already, the last 5 are contended for.
    let a = db.store().await;
    let b = db.store().await;
    let book = testkit::rental_repo::concurrent_rentals_never_overbook(
        &a,
        &[Arc::new(a.clone()), Arc::new(b.clone())],
        7,
        2,
        40,
    )
    .await;
    // The invariant also holds against SQL that bypasses the store.
    let bypass = sqlx::query("UPDATE books SET rented = rented + 1 WHERE id = $1")
        .bind(book.id.0)
        .execute(a.pool())
        .await;
    assert!(bypass.is_err(), "CHECK (rented <= copies) refuses it");
    a.close().await;
    b.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_race_on_updates_and_isbns() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let stores = [db.store().await, db.store().await];
    let book = plain_book(31, 1);
    stores[0]
        .insert(&book, &kcl_core::testkit::fixtures::event())
        .await
        .expect("insert");
    // 20 updates based on version 1: one wins, the others see version 2.
    let mut joins = Vec::new();
    for i in 0..20 {
        let store = stores[i % 2].clone();
        let mut next = book.clone();
        next.title = format!("Edition {i}");
        joins.push(tokio::spawn(async move {
            store
                .update(&next, 1, &kcl_core::testkit::fixtures::event())
                .await
        }));
    }
    let mut won = 0;
    for j in joins {
        match j.await.expect("task") {
            Ok(stored) => {
                won += 1;
                assert_eq!(stored.version, 2);
            }
            Err(BookRepoError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one update applies");
    // 20 new books with one ISBN: one is stored, the others are duplicates.
    let mut joins = Vec::new();
    for i in 0..20 {
        let store = stores[i % 2].clone();
        let twin = plain_book(32, 1);
        joins.push(tokio::spawn(async move {
            store
                .insert(&twin, &kcl_core::testkit::fixtures::event())
                .await
        }));
    }
    let mut stored = 0;
    for j in joins {
        match j.await.expect("task") {
            Ok(()) => stored += 1,
            Err(BookRepoError::DuplicateIsbn(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(stored, 1, "exactly one book gets the ISBN");
    for store in &stores {
        store.close().await;
    }
    db.drop_now().await;
}

/// Listings by sort order alone are kept prepared on their connection; searches and
/// filters by value are planned for their values each time. A pooled connection the
/// server ended while it sat idle is replaced before use, not handed to a caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_listings_are_prepared_and_idle_connections_are_checked() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = store_of_three_books(&db, 1).await;
    let query = |filter: BookFilter| BookQuery {
        filter,
        sort: "title".parse().expect("sort"),
        after: None,
        limit: 2,
    };
    let plain = query(BookFilter::default());
    let available = query(BookFilter {
        available_only: true,
        ..Default::default()
    });
    let searched = query(BookFilter {
        search: SearchTerms::parse("book").expect("terms"),
        ..Default::default()
    });
    let by_category = query(BookFilter {
        category: Some("x".into()),
        ..Default::default()
    });
    for q in [&plain, &available, &searched, &by_category] {
        BookRepo::list(&store, q).await.expect("list");
    }
    // One connection: the pool's statements are this one's.
    let prepared: Vec<(String,)> = sqlx::query_as("SELECT statement FROM pg_prepared_statements")
        .fetch_all(store.pool())
        .await
        .expect("prepared statements");
    let listings: Vec<&str> = prepared
        .iter()
        .map(|(s,)| s.as_str())
        .filter(|s| s.starts_with("SELECT") && s.contains("FROM books") && s.contains("ORDER BY"))
        .collect();
    assert_eq!(
        listings.len(),
        2,
        "plain and available-only listings: {listings:?}"
    );
    assert!(
        listings
            .iter()
            .all(|s| s.contains("LIMIT 2") && !s.contains("search") && !s.contains("category_key")),
        "{listings:?}"
    );
    let page = BookRepo::list(&store, &plain)
        .await
        .expect("prepared again");
    assert_eq!(page.len(), 2);

    // The server ends the pool's connection while it is idle.
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pid");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(&db.options())
        .await
        .expect("admin");
    let (ended,): (bool,) = sqlx::query_as("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(ended);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let page = BookRepo::list(&store, &plain)
        .await
        .expect("a new connection replaces the ended one");
    assert_eq!(page.len(), 2);
    let _ = sqlx::Connection::close(admin).await;
    store.close().await;
    db.drop_now().await;
}

/// Listings keep connections out of the pool (half of it, here 2 of 4); one the
/// server ended while it sat kept and idle goes back through the pool's check and
/// is replaced, and closing the store does not wait for kept connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_keep_connections_and_replace_one_the_server_ended() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = store_of_three_books(&db, 4).await;
    let plain = BookQuery {
        filter: BookFilter::default(),
        sort: "title".parse().expect("sort"),
        after: None,
        limit: 2,
    };
    let mut lists = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, plain) = (store.clone(), plain.clone());
        lists.spawn(async move { BookRepo::list(&store, &plain).await });
    }
    while let Some(page) = lists.join_next().await {
        assert_eq!(page.expect("task").expect("list").len(), 2);
    }
    // The server ends every connection of this database but the admin's: the
    // kept ones among them.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(&db.options())
        .await
        .expect("admin");
    let (ended,): (i64,) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .expect("terminate");
    assert!(ended >= 1, "no connection of the store was open");
    // Idle for more than a second: handed back to the pool, which pings it first.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..3 {
        let page = BookRepo::list(&store, &plain)
            .await
            .expect("a new connection replaces the ended one");
        assert_eq!(page.len(), 2);
    }
    let _ = sqlx::Connection::close(admin).await;
    tokio::time::timeout(Duration::from_secs(10), store.close())
        .await
        .expect("closing does not wait for kept connections");
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_fails_once_the_store_is_closed() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::health_probe::fails_once_closed(&PgProbe::new(&store), &store, store.close()).await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_and_unreachable_servers_are_errors() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let err = PgStore::connect("mysql://nowhere")
        .await
        .expect_err("not a postgres URL");
    assert!(matches!(err, AwsError::Config(_)), "{err}");
    let err = PgStore::connect("postgres://[::1")
        .await
        .expect_err("malformed");
    assert!(matches!(err, AwsError::Config(_)), "{err}");
    let secret = PgStore::connect("postgres://u:hunter2@127.0.0.1:1/db?sslmode=nonsense")
        .await
        .expect_err("bad option");
    assert!(!secret.to_string().contains("hunter2"), "{secret}");
    // A port where nothing listens: an error, quickly.
    let unreachable = PgConnectOptions::from_str("postgres://postgres@127.0.0.1:1/x").expect("url");
    let err = PgStore::connect_with(
        unreachable,
        PgPoolOptions::new().acquire_timeout(std::time::Duration::from_secs(2)),
    )
    .await
    .expect_err("nothing listens");
    assert!(matches!(err, AwsError::PostgresConnect(_)), "{err}");
    db.drop_now().await;
}

/// Not a test of results (those are above) but of plans: seeds 100,000 books and
/// prints how long each listing shape takes (a bad plan reads the whole table:
/// 100+ ms instead of a few). Run by hand:
/// `cargo test -p kcl-aws --all-features --test postgres -- --ignored --nocapture plans`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "slow: seeds 100k books; prints timings"]
async fn plans_at_scale() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    const WORDS: &[&str] = &[
        "amor", "tempo", "cidade", "mar", "noite", "casa", "memória", "guerra", "sertão", "rio",
    ];
    const CATEGORIES: &[&str] = &["Romance", "Poesia", "Contos", "Ensaio"];
    let started = std::time::Instant::now();
    let mut joins = Vec::new();
    for part in 0..8u64 {
        let store = store.clone();
        joins.push(tokio::spawn(async move {
            for k in (part..100_000).step_by(8) {
                let w = |j: u64| WORDS[((k / 3 + j * 7) % WORDS.len() as u64) as usize];
                let d = BookDraft::builder(
                    format!("{} {} {k}", w(0), w(1)),
                    format!("Autor {}", k % 100),
                    Isbn::synthetic(k).as_str(),
                )
                .category(CATEGORIES[(k % 4) as usize])
                .year(1900 + (k % 125) as i64)
                .price_cents(1000 + k as i64)
                .copies((k % 3) as i64 + 1)
                .summary(format!("Sobre {} e {} n{k}.", w(2), w(3)))
                .build()
                .expect("valid");
                let book = Book::new(BookId(Uuid::now_v7()), d, Utc::now());
                store
                    .insert(&book, &kcl_core::testkit::fixtures::event())
                    .await
                    .expect("insert");
            }
        }));
    }
    for j in joins {
        j.await.expect("seed");
    }
    println!("seeded 100k books in {:?}", started.elapsed());
    sqlx::raw_sql("ANALYZE books")
        .execute(store.pool())
        .await
        .expect("analyze");
    let shapes = [
        ("first page by title", BookFilter::default()),
        (
            "category + available + years",
            BookFilter {
                category: Some("poesia".into()),
                available_only: true,
                year_from: Some(1950),
                year_to: Some(2000),
                ..Default::default()
            },
        ),
        (
            "search 'amor tem' (dense)",
            BookFilter {
                search: SearchTerms::parse("amor tem").expect("terms"),
                ..Default::default()
            },
        ),
        (
            "search 'n4242' (rare, prefix)",
            BookFilter {
                search: SearchTerms::parse("n4242").expect("terms"),
                ..Default::default()
            },
        ),
        (
            "search 'n77777' (one)",
            BookFilter {
                search: SearchTerms::parse("n77777").expect("terms"),
                ..Default::default()
            },
        ),
        (
            "author 'autor 7' + search 'amor'",
            BookFilter {
                author: Some("autor 7".into()),
                search: SearchTerms::parse("amor").expect("terms"),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in shapes {
        for sort in ["title", "-year"] {
            let q = BookQuery {
                filter: filter.clone(),
                sort: sort.parse().expect("sort"),
                after: None,
                limit: 20,
            };
            let t = std::time::Instant::now();
            let n = BookRepo::list(&store, &q).await.expect("list").len();
            let first = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..20 {
                BookRepo::list(&store, &q).await.expect("list");
            }
            println!(
                "{name}, sort {sort}: {n} rows, first {first:?}, then {:?} each",
                t.elapsed() / 20
            );
        }
    }
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sales_kits() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::sales_repo::run(Arc::new(store.clone())).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::sales_repo::run(Arc::new(store.clone())).await;
    testkit::sales_repo::run_days(&store).await;
    store.close().await;
    db.drop_now().await;
}

/// A sales row of `sku` for store S1 on 2026-11-`day`.
fn sales_row(sku: &str, day: u32, q: i64, line: u64) -> kcl_core::domain::SalesRow {
    kcl_core::domain::SalesRow {
        store_id: "S1".into(),
        sale_date: chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        receipt_id: None,
        sku: sku.into(),
        product_name: Some(String::new()),
        quantity: kcl_core::domain::Quantity::from_thousandths(q),
        unit_price: kcl_core::domain::Money::from_cents(100).unwrap(),
        total: None,
        tax_cents: 0,
        line,
    }
}

fn sales_file(name: &str, sha: &str, rows: u64) -> kcl_core::domain::SalesFile {
    kcl_core::domain::SalesFile {
        id: Uuid::now_v7(),
        name: name.into(),
        sha256: sha.into(),
        rows,
        loaded_at: Utc::now(),
    }
}

/// Loads that change more SKUs than are summed in memory take the sums from the
/// loaded lines, with the same result; live loads store their rows only when the
/// verdict says so, and answer a duplicate without waiting for rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sales_loads_past_the_sum_bounds_and_live() {
    use kcl_core::domain::{LoadOutcome, StoreDay};
    use kcl_core::ports::{LiveRows, LiveVerdict, SalesRepo, Spooler};
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    let day = |d: u32| StoreDay {
        store_id: "S1".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
    };
    // 100,001 SKUs: one past what a load sums in memory.
    let wide = sales_file("wide.csv", "sha-wide", 100_001);
    let mut spool = kcl_core::memory::MemorySpooler.create(wide.id).unwrap();
    for i in 0..100_001u64 {
        spool
            .push(&sales_row(
                &format!("W{i}"),
                1 + (i % 2) as u32,
                1000,
                i + 2,
            ))
            .unwrap();
    }
    let spool = spool.finish().unwrap();
    let out = store
        .load(&wide, spool.as_ref(), &testkit::fixtures::event())
        .await
        .unwrap();
    assert!(
        matches!(&out, LoadOutcome::Loaded { rows: 100_001, days, .. } if days.len() == 2),
        "{out:?}"
    );
    let level = |sku: &'static str| {
        let store = store.clone();
        async move {
            store
                .stock(sku)
                .await
                .unwrap()
                .map(|s| s.quantity.thousandths())
        }
    };
    assert_eq!(level("W100000").await, Some(-1000));
    let totals = store.day_totals(&[day(1), day(2), day(3)]).await.unwrap();
    let lines: Vec<u64> = totals.iter().map(|t| t.lines).collect();
    assert_eq!(lines, [50_001, 50_000, 0]);
    assert_eq!(totals[0].revenue_cents, 50_001 * 100);

    // A live load, abandoned after its rows were sent: nothing changes.
    let live =
        |file: kcl_core::domain::SalesFile, rows: Vec<kcl_core::domain::SalesRow>, commit: bool| {
            let store = store.clone();
            async move {
                let (rows_tx, rows_rx) = tokio::sync::mpsc::channel(2);
                let (verdict_tx, verdict) = tokio::sync::oneshot::channel();
                let mut start = file.clone();
                start.rows = 0;
                let feed = async move {
                    let n = rows.len() as u64;
                    // The duplicate case drops the receiver: sending then fails.
                    let _ = rows_tx.send(rows).await;
                    drop(rows_tx);
                    let verdict_of = if commit {
                        let mut done = file.clone();
                        done.rows = n;
                        LiveVerdict::Commit {
                            file: done,
                            event: testkit::fixtures::event(),
                        }
                    } else {
                        LiveVerdict::Abandon
                    };
                    let _ = verdict_tx.send(verdict_of);
                };
                let (out, ()) = tokio::join!(
                    store.load_live(
                        &start,
                        LiveRows {
                            rows: rows_rx,
                            verdict
                        }
                    ),
                    feed
                );
                out.unwrap()
            }
        };
    let rows = vec![sales_row("L", 3, 2000, 2), sales_row("L", 4, 500, 3)];
    let f = sales_file("live.csv", "sha-live", 0);
    assert_eq!(live(f.clone(), rows.clone(), false).await, None);
    assert!(store.current_file("live.csv").await.unwrap().is_none());
    assert_eq!(level("L").await, None, "an abandoned load changes no stock");
    assert_eq!(store.day_totals(&[day(3)]).await.unwrap()[0].lines, 0);

    // Committed: the rows, stock and totals are there.
    let out = live(f.clone(), rows.clone(), true).await;
    assert!(
        matches!(&out, Some(LoadOutcome::Loaded { rows: 2, replaced: None, days }) if days == &[day(3), day(4)]),
        "{out:?}"
    );
    assert_eq!(level("L").await, Some(-2500));
    assert_eq!(store.day_totals(&[day(4)]).await.unwrap()[0].lines, 1);
    assert_eq!(
        store
            .current_file("live.csv")
            .await
            .unwrap()
            .map(|c| (c.id, c.rows)),
        Some((f.id, 2))
    );

    // The same content again: a duplicate, whatever the verdict would be.
    let again = sales_file("other.csv", "sha-live", 0);
    let out = live(again, rows.clone(), true).await;
    assert!(
        matches!(&out, Some(LoadOutcome::Duplicate(of)) if of.id == f.id),
        "{out:?}"
    );
    assert_eq!(
        level("L").await,
        Some(-2500),
        "a duplicate changes no stock"
    );

    // A correction of the wide file, live: its days and stock move to the new rows.
    let fix = sales_file("wide.csv", "sha-wide-2", 0);
    let out = live(fix, vec![sales_row("W0", 1, 7000, 2)], true).await;
    assert!(
        matches!(&out, Some(LoadOutcome::Loaded { rows: 1, replaced: Some(r), days }) if r.id == wide.id && days.len() == 2),
        "{out:?}"
    );
    assert_eq!(level("W0").await, Some(-7000));
    assert_eq!(level("W1").await, Some(0), "given back");
    let lines: Vec<u64> = store
        .day_totals(&[day(1), day(2)])
        .await
        .unwrap()
        .iter()
        .map(|t| t.lines)
        .collect();
    assert_eq!(lines, [1, 0], "the replaced version's days are emptied");
    store.close().await;
    db.drop_now().await;
}

// ---- The task queue (`PgQueue`) ----

/// A queue whose messages come back after `visibility` and are dead-lettered after
/// `max_receives` receives.
fn queue_config(visibility: Duration, max_receives: u32) -> QueueConfig {
    QueueConfig {
        visibility_timeout: visibility,
        max_receives,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    let tasks = PgQueue::new(&store, "tasks", testkit::task_queue::CONFIG);
    assert_eq!(tasks.config(), Some(testkit::task_queue::CONFIG));
    // Two named queues in the one table, at the same time: neither sees the other's
    // messages, dead letters or counts.
    let other = PgQueue::new(&store, "other", testkit::task_queue::CONFIG);
    tokio::join!(
        testkit::task_queue::run(&tasks),
        testkit::task_queue::run(&other)
    );
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_refuses_stale_receipts() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    let q = PgQueue::new(&store, "stale", queue_config(Duration::from_secs(1), 5));
    q.send("work").await.expect("send");
    let first = q.receive(1, Duration::from_secs(1)).await.expect("receive");
    assert_eq!(first.len(), 1);
    // The visibility timeout passes: the message is delivered again, with a new lease.
    let second = q.receive(1, Duration::from_secs(5)).await.expect("receive");
    assert_eq!(second.len(), 1, "redelivered after the timeout");
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt, first[0].receipt, "a new receipt");
    assert!(matches!(
        q.ack(&first[0].receipt).await,
        Err(QueueError::StaleReceipt)
    ));
    assert!(matches!(
        q.extend_visibility(&first[0].receipt, Duration::ZERO).await,
        Err(QueueError::StaleReceipt)
    ));
    assert!(
        q.receive(1, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty(),
        "the stale receipt neither deleted nor released the message"
    );
    assert_eq!(q.stats().await.expect("stats").in_flight, 1);
    // A receipt of another queue, and strings that are no receipt, are refused too.
    let other = PgQueue::new(&store, "other", queue_config(Duration::from_secs(30), 5));
    assert!(matches!(
        other.ack(&second[0].receipt).await,
        Err(QueueError::StaleReceipt)
    ));
    for bad in ["", "no-such-receipt", "1:2"] {
        assert!(matches!(
            q.ack(&ReceiptHandle(bad.into())).await,
            Err(QueueError::StaleReceipt)
        ));
    }
    // The current receipt acks; then every receipt of the message is an ack done.
    q.ack(&second[0].receipt).await.expect("ack");
    q.ack(&second[0].receipt)
        .await
        .expect("acking twice is fine");
    q.ack(&first[0].receipt)
        .await
        .expect("the message is gone: nothing to refuse");
    assert!(matches!(
        q.extend_visibility(&second[0].receipt, Duration::ZERO)
            .await,
        Err(QueueError::StaleReceipt)
    ));
    assert_eq!(q.stats().await.expect("stats"), QueueStats::default());

    // A dead-lettered message cannot be acked out of the dead-letter queue.
    let once = PgQueue::new(&store, "once", queue_config(Duration::from_secs(30), 1));
    once.send("poison").await.expect("send");
    let d = once
        .receive(1, Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(d.len(), 1);
    once.extend_visibility(&d[0].receipt, Duration::ZERO)
        .await
        .expect("release");
    assert!(once
        .receive(1, Duration::ZERO)
        .await
        .expect("receive")
        .is_empty());
    assert!(matches!(
        once.ack(&d[0].receipt).await,
        Err(QueueError::StaleReceipt)
    ));
    let stats = once.stats().await.expect("stats");
    assert_eq!(
        (stats.visible, stats.in_flight, stats.dead_lettered),
        (0, 0, 1)
    );
    let (body,): (String,) =
        sqlx::query_as("SELECT body FROM task_queue_dead_letters WHERE queue = 'once'")
            .fetch_one(store.pool())
            .await
            .expect("dead letters view");
    assert_eq!(body, "poison");

    // PostgreSQL's text cannot hold NUL: a typed refusal, nothing stored.
    assert!(matches!(
        q.send("a\0b").await,
        Err(QueueError::InvalidInput(_))
    ));
    assert_eq!(q.stats().await.expect("stats"), QueueStats::default());
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_messages_survive_reconnecting() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let config = queue_config(Duration::from_secs(1), 5);
    let in_flight = {
        let store = db.store().await;
        let q = PgQueue::new(&store, "durable", config);
        q.send("durable-1").await.expect("send");
        let got = q.receive(1, Duration::from_secs(1)).await.expect("receive");
        assert_eq!(got.len(), 1);
        q.send("durable-2").await.expect("send");
        store.close().await;
        got.into_iter().next().expect("one delivery")
    };
    // Another process, later: both messages are there, the one in flight with its
    // receive counted.
    let store = db.store().await;
    let q = PgQueue::new(&store, "durable", config);
    let mut got = Vec::new();
    let started = std::time::Instant::now();
    while got.len() < 2 && started.elapsed() < Duration::from_secs(10) {
        got.extend(
            q.receive(10, Duration::from_secs(2))
                .await
                .expect("receive"),
        );
    }
    got.sort_by(|a, b| a.body.cmp(&b.body));
    let seen: Vec<_> = got
        .iter()
        .map(|d| (d.body.as_str(), d.receive_count))
        .collect();
    assert_eq!(seen, [("durable-1", 2), ("durable-2", 1)]);
    assert_eq!(got[0].message_id, in_flight.message_id);
    assert!(matches!(
        q.ack(&in_flight.receipt).await,
        Err(QueueError::StaleReceipt)
    ));
    q.ack_batch(&[got[0].receipt.clone(), got[1].receipt.clone()])
        .await
        .expect("ack");
    assert_eq!(q.stats().await.expect("stats"), QueueStats::default());
    store.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_never_receive_the_same_message() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    const MESSAGES: usize = 300;
    // A long timeout: nothing may come back during the test, so any message seen
    // twice was handed to two receivers at once.
    let config = queue_config(Duration::from_secs(120), 5);
    let stores = [db.store().await, db.store().await];
    let queues: Vec<PgQueue> = stores
        .iter()
        .map(|s| PgQueue::new(s, "shared", config))
        .collect();
    let bodies: Vec<String> = (0..MESSAGES).map(|i| format!("task-{i}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let sent = queues[0].send_batch(&refs).await.expect("send_batch");
    assert_eq!(sent.len(), MESSAGES);
    let mut receivers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let q = queues[i % 2].clone();
        receivers.spawn(async move {
            let mut seen = Vec::new();
            loop {
                let batch = q
                    .receive(1 + i % 10, Duration::from_millis(500))
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    return seen;
                }
                for d in batch {
                    assert_eq!(d.receive_count, 1, "never redelivered here");
                    q.ack(&d.receipt).await.expect("ack");
                    seen.push(d.message_id);
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(seen) = receivers.join_next().await {
        all.extend(seen.expect("receiver"));
    }
    assert_eq!(all.len(), MESSAGES, "every message delivered once");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), MESSAGES, "no message delivered twice");
    let mut sent = sent;
    sent.sort();
    assert_eq!(all, sent);
    for s in &stores {
        s.close().await;
    }
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_poll_wakes_on_a_send_from_another_process() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let config = queue_config(Duration::from_secs(30), 5);
    let (a, b) = (db.store().await, db.store().await);
    let receiver = PgQueue::new(&a, "wake", config);
    let sender = PgQueue::new(&b, "wake", config);
    // A first waiting receive starts the listener.
    assert!(receiver
        .receive(1, Duration::from_millis(100))
        .await
        .expect("receive")
        .is_empty());
    let started = std::time::Instant::now();
    while !receiver.listening() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the listener connects"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The queue is empty and nothing is hidden: before the fallback poll, only a
    // notification can wake the receive.
    let pause = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let (got, ()) = tokio::join!(receiver.receive(1, Duration::from_secs(15)), async {
        tokio::time::sleep(pause).await;
        sender.send("wake-up").await.expect("send");
    });
    let elapsed = started.elapsed();
    let got = got.expect("receive");
    assert_eq!(
        got.len(),
        1,
        "the message sent by the other process arrives"
    );
    assert_eq!(got[0].body, "wake-up");
    assert!(
        elapsed < pause + PgQueue::FALLBACK_POLL / 2,
        "woken by the notification, not the {:?} fallback poll: {elapsed:?}",
        PgQueue::FALLBACK_POLL
    );
    receiver.ack(&got[0].receipt).await.expect("ack");
    a.close().await;
    b.close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_runs_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = std::sync::Arc::new(db.store().await);
    testkit::report_runs::run(store.clone()).await;
    // A second pool (another server) races the first for the same runs.
    let other = std::sync::Arc::new(db.store().await);
    testkit::report_runs::run(other).await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_sessions_kit() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = db.store().await;
    testkit::ended_sessions::run(&store).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::ended_sessions::run(&store).await;
    // A second pool (another server) sees what the first ended.
    let other = db.store().await;
    let expires = Utc::now() + chrono::Duration::hours(12);
    kcl_core::ports::EndedSessions::end(&store, "ended-on-a", expires)
        .await
        .expect("end");
    assert!(
        kcl_core::ports::EndedSessions::is_ended(&other, "ended-on-a")
            .await
            .expect("is_ended")
    );
    store.close().await;
    other.close().await;
    db.drop_now().await;
}

/// A host with its own sqlx migrations (in sqlx's `_sqlx_migrations`, with version
/// numbers KCL's migrations also use) and tables, embedding KCL on its own pool:
/// KCL's migrations go to `_kcl_migrations`, each side re-runs its own without
/// complaint, and both sides' tables work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_pool_with_its_own_migrations_embeds_the_store() {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use sqlx::SqlSafeStr;
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let host = Migrator::with_migrations(vec![
        Migration::new(
            1,
            "host users".into(),
            MigrationType::Simple,
            "CREATE TABLE host_users (name TEXT PRIMARY KEY)".into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            "host orders".into(),
            MigrationType::Simple,
            "CREATE TABLE host_orders (id BIGINT PRIMARY KEY, who TEXT)".into_sql_str(),
            false,
        ),
    ]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(PgStore::session_options(db.options()))
        .await
        .expect("the host's pool");
    host.run(&pool).await.expect("the host's migrations");
    let store = PgStore::from_pool(pool.clone());
    let behind = store
        .check_schema()
        .await
        .expect_err("nothing of KCL's yet");
    assert!(
        matches!(&behind, AwsError::SchemaBehind { pending } if pending.len() >= 10),
        "{behind}"
    );
    store
        .migrate()
        .await
        .expect("KCL's migrations beside the host's");
    store.check_schema().await.expect("up to date");
    // Each side again: nothing to do, nothing refused.
    host.run(&pool).await.expect("the host's migrations again");
    store.migrate().await.expect("KCL's again");
    let tables = |t: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(t)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(tables("SELECT COUNT(*) FROM _sqlx_migrations").await, 2);
    assert!(tables("SELECT COUNT(*) FROM _kcl_migrations").await >= 10);
    // Both sides' tables in use on the one pool.
    sqlx::query("INSERT INTO host_users (name) VALUES ('ana')")
        .execute(&pool)
        .await
        .expect("the host's table");
    let draft = BookDraft::builder("Iracema", "José de Alencar", "85-359-1066-2")
        .year(1865)
        .build()
        .expect("a draft");
    let book = Book::new(BookId(Uuid::now_v7()), draft, Utc::now());
    store
        .insert(&book, &kcl_core::testkit::fixtures::event())
        .await
        .expect("KCL's table");
    assert_eq!(
        BookRepo::get(&store, book.id).await.expect("read").title,
        "Iracema"
    );
    assert_eq!(tables("SELECT COUNT(*) FROM host_users").await, 1);
    pool.close().await;
}

/// A database an earlier KCL migrated, with its records in sqlx's default table:
/// they move to `_kcl_migrations` (nothing runs twice: a second `CREATE TABLE`
/// would fail), and the emptied `_sqlx_migrations` goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_an_earlier_kcl_move_to_its_own_table() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.options())
        .await
        .expect("pool");
    // What KCL did before: its migrations in sqlx's default table.
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .expect("the old way");
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    let store = db.store().await;
    let moved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _kcl_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(moved, before);
    let old: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&pool)
        .await
        .expect("regclass");
    assert_eq!(old, None, "the emptied table is dropped");
    store.check_schema().await.expect("up to date");
    pool.close().await;
}
