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
