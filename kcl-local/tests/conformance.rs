//! The port conformance kits of `kcl-core`, run on the embedded adapters.

use std::sync::Arc;

use kcl_core::ports::{BookRepo, RentalRepo};
use kcl_core::testkit;
use kcl_local::{FsBlobStore, SqliteQueue, SqliteStore};

async fn file_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("nested/dir/kcl.db"))
        .await
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn book_repo_kit() {
    let store = SqliteStore::in_memory().await.expect("open");
    testkit::book_repo::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn book_repo_kit_on_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = file_store(&dir).await;
    testkit::book_repo::run(&store).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::book_repo::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rental_repo_kit() {
    let store = Arc::new(SqliteStore::in_memory().await.expect("open"));
    let books: Arc<dyn BookRepo> = store.clone();
    let rentals: Arc<dyn RentalRepo> = store;
    testkit::rental_repo::run(books, rentals).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_log_kit() {
    let store = SqliteStore::in_memory().await.expect("open");
    testkit::audit_log::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_carry_their_audit_events_into_the_log_or_the_outbox() {
    let store = SqliteStore::in_memory().await.expect("open");
    // The audit log in this database: events go straight into it.
    testkit::audit_log::travels_with_writes(&store, &store, &store, &store).await;
    // The audit log elsewhere: events wait in the outbox for the relay.
    store.set_audit_outbox(true);
    let elsewhere = kcl_core::memory::MemoryAuditLog::default();
    testkit::audit_log::travels_with_writes(&store, &store, &elsewhere, &store).await;
    testkit::audit_log::relay_keeps_what_the_log_refuses(&store, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blob_store_kit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path().join("blobs"))
        .await
        .expect("open");
    testkit::blob_store::run(&store).await;
    // Twice in the same folder.
    testkit::blob_store::run(&FsBlobStore::new(dir.path().join("blobs"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_queue_kit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = file_store(&dir).await;
    // Another queue in the same file, with traffic, must not disturb the kit.
    let neighbour = SqliteQueue::new(&store, "neighbour", testkit::task_queue::CONFIG);
    kcl_core::ports::TaskQueue::send(&neighbour, "noise")
        .await
        .expect("send");
    let queue = SqliteQueue::new(&store, "kit", testkit::task_queue::CONFIG);
    testkit::task_queue::run(&queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_store_kit() {
    let store = SqliteStore::in_memory().await.expect("open");
    testkit::status_store::run(std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_repo_kit() {
    let store = SqliteStore::in_memory().await.expect("open");
    testkit::job_repo::run(Arc::new(store.clone())).await;
    testkit::job_repo::transitions_reach_the_history(&store, &store, &store).await;
    // With the audit log elsewhere, the events wait in the outbox.
    store.set_audit_outbox(true);
    let log = kcl_core::memory::MemoryAuditLog::default();
    testkit::job_repo::transitions_reach_the_history(&store, &store, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_repo_kit_on_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(file_store(&dir).await);
    testkit::job_repo::run(store.clone()).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::job_repo::run(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_repo_edges() {
    use kcl_core::domain::ItemResult;
    use kcl_core::ports::{JobRepo, JobRepoError};
    let store = SqliteStore::in_memory().await.expect("open");
    let store: &dyn JobRepo = &store;
    let ttl = chrono::Duration::days(1);
    let now = chrono::Utc::now();
    let (a, a_items) = testkit::job_repo::job("a", now, 2, 0, ttl);
    store
        .create(&a, &a_items, &kcl_core::testkit::fixtures::event())
        .await
        .expect("create");
    // An item id another job holds: Duplicate, and nothing of the job is stored.
    let (b, mut b_items) = testkit::job_repo::job("b", now, 2, 0, ttl);
    b_items[1].id = a_items[0].id;
    assert!(matches!(
        store.create(&b, &b_items, &kcl_core::testkit::fixtures::event()).await,
        Err(JobRepoError::Duplicate(id)) if id == a_items[0].id.to_string()
    ));
    assert!(matches!(
        store.get(b.id).await,
        Err(JobRepoError::NotFound(_))
    ));
    // SQLite would store a NaN confidence as NULL: refused.
    let nan = ItemResult::Done {
        text: "x".into(),
        confidence: f32::NAN,
    };
    assert!(matches!(
        store
            .finish_item(
                a.id,
                a_items[0].id,
                &nan,
                now,
                &kcl_core::testkit::fixtures::event()
            )
            .await,
        Err(JobRepoError::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sales_kits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(file_store(&dir).await);
    testkit::sales_repo::run(store.clone()).await;
    // Twice on the same database: the kit keeps its runs apart.
    testkit::sales_repo::run(store.clone()).await;
    testkit::sales_repo::run_days(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_runs_kit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(file_store(&dir).await);
    testkit::report_runs::run(store.clone()).await;
    // Again on the same file: the kit keeps its runs apart.
    testkit::report_runs::run(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_sessions_kit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = file_store(&dir).await;
    testkit::ended_sessions::run(&store).await;
    // Again on the same file: the kit keeps its runs apart.
    testkit::ended_sessions::run(&store).await;
}

/// An ended session is still ended when the database is opened again (a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_sessions_outlive_a_reopen() {
    use kcl_core::ports::EndedSessions;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = file_store(&dir).await;
    let expires = chrono::Utc::now() + chrono::Duration::hours(12);
    store.end("logged-out", expires).await.expect("end");
    store.close().await;
    let store = file_store(&dir).await;
    assert!(store.is_ended("logged-out").await.expect("is_ended"));
    assert!(!store.is_ended("never-ended").await.expect("is_ended"));
    store.close().await;
}
