//! Conformance kits: public async functions that check a port's contract on any
//! implementation. Every adapter's tests call the kit of each port it implements,
//! which is how the in-memory, embedded and AWS profiles are known to behave alike.
//!
//! The kits panic (like `assert!`) on the first broken rule, with a message naming it.
//! They create their own data with random ISBNs and categories, so they can run on a
//! shared database.
//!
//! [`services`] reads the test servers from the environment (`KCL_TEST_*`) and holds
//! the one skip rule every test that needs a service follows.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use kcl_core::{memory::MemoryCatalog, testkit};
//! let store = Arc::new(MemoryCatalog::default());
//! testkit::book_repo::run(store.as_ref()).await;
//! testkit::rental_repo::run(store.clone(), store.clone()).await;
//! # });
//! ```

pub mod audit_log;
pub mod blob_store;
pub mod book_repo;
pub mod cache;
pub mod ended_sessions;
pub mod fixtures;
pub mod health_probe;
pub mod job_repo;
pub mod ocr_engine;
pub mod reference;
pub mod rental_repo;
pub mod report_runs;
pub mod sales_repo;
pub mod services;
pub mod status_store;
pub mod task_queue;
pub mod thumbnailer;
