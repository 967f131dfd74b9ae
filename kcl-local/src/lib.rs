//! # kcl-local
//!
//! The embedded adapters of KCL, the default profile: everything lives on one
//! machine, in one SQLite file and one folder, and nothing else has to run.
//!
//! | port | adapter | storage |
//! |---|---|---|
//! | [`BookRepo`](kcl_core::ports::BookRepo), [`RentalRepo`](kcl_core::ports::RentalRepo), [`AuditLog`](kcl_core::ports::AuditLog) | [`SqliteStore`] | tables `books` (+ FTS5 index), `rentals`, `audit_events` |
//! | [`StatusStore`](kcl_core::ports::StatusStore) | [`SqliteStore`] | table `processing_status` (conditional upserts) |
//! | [`JobRepo`](kcl_core::ports::JobRepo) | [`SqliteStore`] | tables `ocr_jobs`, `ocr_items` (conditional status updates) |
//! | [`TaskQueue`](kcl_core::ports::TaskQueue) | [`SqliteQueue`] | table `queue_messages`, several named queues per file |
//! | [`BlobStore`](kcl_core::ports::BlobStore) | [`FsBlobStore`] | `root/objects/<key>`, metadata in `root/meta/<key>` |
//! | [`HealthProbe`](kcl_core::ports::HealthProbe) | [`SqliteProbe`] | `SELECT 1` |
//!
//! The SQLite database runs in WAL mode with one writer connection and a pool of
//! readers; every change is one short `BEGIN IMMEDIATE` transaction, so renting a
//! copy can never overbook a book, whatever the concurrency. The schema is created
//! by migrations embedded in the binary.
//!
//! [`backup`] copies a running server's database and blob folder consistently, and
//! restores such a copy (`kcl backup`, `kcl restore`).
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use kcl_core::ports::{QueueConfig, TaskQueue};
//! use kcl_local::{SqliteQueue, SqliteStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(&dir.path().join("kcl.db")).await.unwrap();
//! let queue = SqliteQueue::new(&store, "thumbnails", QueueConfig::default());
//! queue.send(r#"{"bucket":"b","key":"uploads/a.jpg"}"#).await.unwrap();
//! let got = queue.receive(10, std::time::Duration::ZERO).await.unwrap();
//! assert_eq!(got.len(), 1);
//! let books: Arc<dyn kcl_core::ports::BookRepo> = Arc::new(store.clone());
//! # let _ = books;
//! store.close().await;
//! # });
//! ```
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backup;
mod blobs;
mod error;
mod health;
mod queue;
mod sqlite;

pub use blobs::FsBlobStore;
pub use error::LocalError;
pub use health::SqliteProbe;
pub use queue::SqliteQueue;
pub use sqlite::SqliteStore;

/// sqlx, whose pools and options [`SqliteStore::from_pools`] takes, at the version
/// this crate is built with.
pub use sqlx;
