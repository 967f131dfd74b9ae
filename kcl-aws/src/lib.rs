//! # kcl-aws
//!
//! The adapters of KCL's AWS profile: the same ports as the embedded profile
//! (`kcl-local`), on the services a deployment on AWS uses, so that several servers
//! and workers can share one state.
//!
//! | feature | port | adapter | storage |
//! |---|---|---|---|
//! | `postgres` | [`BookRepo`](kcl_core::ports::BookRepo), [`RentalRepo`](kcl_core::ports::RentalRepo), [`AuditLog`](kcl_core::ports::AuditLog) | `PgStore` | tables `books` (+ GIN full-text index), `rentals`, `audit_events` |
//! | `postgres` | [`HealthProbe`](kcl_core::ports::HealthProbe) | `PgProbe` | `SELECT 1` |
//! | `postgres` | [`StatusStore`](kcl_core::ports::StatusStore) | `PgStore` | table `processing_status` |
//! | `postgres` | [`JobRepo`](kcl_core::ports::JobRepo) | `PgStore` | tables `ocr_jobs`, `ocr_items` |
//! | `postgres` | [`TaskQueue`](kcl_core::ports::TaskQueue) | `PgQueue` | table `task_queue` (named queues, dead letters marked), `LISTEN`/`NOTIFY` |
//! | `redis` | [`Cache`](kcl_core::ports::Cache), [`HealthProbe`](kcl_core::ports::HealthProbe) | `RedisCache` | keys with `PX` expiry |
//! | `s3` | [`BlobStore`](kcl_core::ports::BlobStore), [`HealthProbe`](kcl_core::ports::HealthProbe) | `S3BlobStore` | one bucket, optional key prefix; presigned GET, streaming |
//! | `sqs` | [`TaskQueue`](kcl_core::ports::TaskQueue), [`HealthProbe`](kcl_core::ports::HealthProbe) | `SqsQueue` | a standard queue with a redrive policy to `{name}-dlq` |
//! | `dynamodb` | [`AuditLog`](kcl_core::ports::AuditLog), [`StatusStore`](kcl_core::ports::StatusStore), [`SalesDays`](kcl_core::ports::SalesDays) | `DynamoAuditLog`, `DynamoStatusStore`, `DynamoSalesDays` | one table, `pk`/`sk` strings (`docs/dynamodb.md`) |
//!
//! The SDK adapters take an `SdkConfig`: `config_from_env` reads
//! the standard AWS chain (credentials, `AWS_REGION`, `AWS_ENDPOINT_URL`);
//! `emulator_config` points at an emulator such as moto. Each has a `provision` method
//! creating what is missing (development and tests) and a `check` used at start.
//!
//! PostgreSQL and Redis connections may use TLS (rustls on aws-lc-rs, the provider
//! the AWS SDK already builds): `sslmode=verify-full&sslrootcert=CA.pem` in the
//! PostgreSQL URL (Amazon RDS), `rediss://` with `RedisCache::connect_with_ca` for
//! a private CA (ElastiCache with in-transit encryption uses public roots).
//! `install_crypto_provider` sets the process's rustls provider; both connect
//! functions call it.
//!
//! Every feature is opt-in: enable the ones you deploy on. The `testkit` feature adds
//! `testkit::TestDatabase`, a PostgreSQL database of one test's own.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn demo() -> Result<(), kcl_aws::AwsError> {
//! use std::sync::Arc;
//! use kcl_aws::PgStore;
//!
//! let store = PgStore::connect("postgres://kcl@db.internal:5432/kcl").await?;
//! let books: Arc<dyn kcl_core::ports::BookRepo> = Arc::new(store.clone());
//! # let _ = books;
//! store.close().await;
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "dynamodb")]
mod dynamodb;
mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis_cache;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "sdk")]
mod sdk;
#[cfg(feature = "sqs")]
mod sqs;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub use aws_config::SdkConfig;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use dynamodb::{DynamoAuditLog, DynamoSalesDays, DynamoStatusStore, DynamoTable, AUDIT_INDEX};
pub use error::AwsError;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PgProbe, PgQueue, PgStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_cache::RedisCache;
#[cfg(feature = "s3")]
pub use s3::{S3BlobStore, S3Location};
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub use sdk::{config_from_env, emulator_config};
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
pub use sqs::SqsQueue;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::install_crypto_provider;

/// sqlx, whose pools and options [`PgStore::from_pool`] takes, at the version this
/// crate is built with.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sqlx;
