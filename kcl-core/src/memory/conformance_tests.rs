//! The conformance kits on the in-memory adapters.

use std::sync::Arc;

use super::*;
use crate::testkit;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_passes_the_book_and_rental_kits() {
    let store = Arc::new(MemoryCatalog::default());
    testkit::book_repo::run(store.as_ref()).await;
    testkit::rental_repo::run(store.clone(), store.clone()).await;
}

#[tokio::test]
async fn catalog_writes_carry_their_audit_events() {
    let store = MemoryCatalog::default();
    let log = MemoryAuditLog::default();
    testkit::audit_log::travels_with_writes(&store, &store, &log, &store).await;
    testkit::audit_log::relay_keeps_what_the_log_refuses(&store, &store).await;
}

#[tokio::test]
async fn audit_log_passes_its_kit() {
    testkit::audit_log::run(&MemoryAuditLog::default()).await;
}

#[tokio::test]
async fn cache_passes_its_kit() {
    testkit::cache::run(&MemoryCache::default()).await;
}

#[tokio::test]
async fn blob_store_passes_its_kit() {
    testkit::blob_store::run(&MemoryBlobStore::default()).await;
}

#[tokio::test]
async fn queue_passes_its_kit() {
    testkit::task_queue::run(&MemoryQueue::new(testkit::task_queue::CONFIG)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_store_passes_its_kit() {
    testkit::status_store::run(Arc::new(MemoryStatusStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_pass_their_kit() {
    testkit::job_repo::run(Arc::new(MemoryJobs::default())).await;
    let jobs = MemoryJobs::default();
    testkit::job_repo::transitions_reach_the_history(
        &jobs,
        &jobs,
        &super::MemoryAuditLog::default(),
    )
    .await;
}

#[tokio::test]
async fn memory_sales_pass_the_kits() {
    testkit::sales_repo::run(Arc::new(MemorySales::default())).await;
    testkit::sales_repo::run_days(&MemorySalesDays::default()).await;
}

#[tokio::test]
async fn report_runs_pass_their_kit() {
    testkit::report_runs::run(std::sync::Arc::new(
        crate::memory::MemoryReportRuns::default(),
    ))
    .await;
}

#[tokio::test]
async fn ended_sessions_pass_their_kit() {
    testkit::ended_sessions::run(&MemoryEndedSessions::default()).await;
}
