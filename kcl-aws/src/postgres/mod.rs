//! The Postgres store: connecting, migrating, and the repositories on it.

mod audit;
mod books;
mod codec;
mod fault;
mod health;
mod rentals;
mod search;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::AwsError;

pub use health::PgProbe;

/// How long a caller waits for a free connection before getting `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per store (per process).
const MAX_CONNECTIONS: u32 = 10;

/// Books, rentals and the audit log in one PostgreSQL database.
///
/// It implements [`BookRepo`](kcl_core::ports::BookRepo),
/// [`RentalRepo`](kcl_core::ports::RentalRepo) and
/// [`AuditLog`](kcl_core::ports::AuditLog) with the semantics of the in-memory
/// reference; a [`PgProbe`] checks it.
///
/// Every change is one short transaction (`READ COMMITTED`). Renting takes a copy
/// with `UPDATE books SET rented = rented + 1 WHERE id = $1 AND rented < copies`
/// in the transaction that records the rental: the row lock serializes concurrent
/// renters, on any number of servers sharing the database, and a `CHECK (rented <=
/// copies)` guards the invariant. Serialization failures and deadlocks are retried
/// a few times.
///
/// Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// with the usual query parameters such as `sslmode`), with a pool of up to
    /// [`MAX_CONNECTIONS`](Self::MAX_CONNECTIONS) connections, and brings its schema
    /// up to date (concurrent starts are safe: migrations take an advisory lock).
    pub async fn connect(url: &str) -> Result<Self, AwsError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| AwsError::Config(format!("bad PostgreSQL URL: {}", redact(&e))))?;
        Self::connect_with(options, Self::pool_options()).await
    }

    /// The pool settings [`connect`](Self::connect) uses, to adjust and pass to
    /// [`connect_with`](Self::connect_with).
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
    }

    /// Connects with explicit connection and pool settings, and migrates.
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, AwsError> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(AwsError::PostgresConnect)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(AwsError::PostgresMigrate)?;
        Ok(Self { pool })
    }

    /// The default largest number of connections of one store.
    pub const MAX_CONNECTIONS: u32 = MAX_CONNECTIONS;

    /// The connection pool, for queries of your own.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection (of every clone). Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A URL parse error without the URL (it may hold a password).
fn redact(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(source) => {
            let text = source.to_string();
            // sqlx's messages name the problem, not the URL; be safe anyway.
            if text.contains('@') {
                "malformed URL".to_owned()
            } else {
                text
            }
        }
        _ => "malformed URL".to_owned(),
    }
}
