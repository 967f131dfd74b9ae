//! The Postgres store: connecting, migrating, and the repositories on it.

mod audit;
mod books;
mod codec;
mod fault;
mod health;
mod jobs;
mod listers;
mod queue;
mod rentals;
mod replicas;
mod report_runs;
mod sales;
mod sales_copy;
mod schema;
mod search;
mod sessions;
mod status;

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::AwsError;

pub use health::PgProbe;
pub use queue::PgQueue;

/// How long a caller waits for a free connection before getting `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per store (per process).
const MAX_CONNECTIONS: u32 = 10;
/// A pooled connection idle this long is pinged before use (see
/// [`PgStore::pool_options`]); one in steady use is not.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

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
/// Cheap to clone: clones share the pool (and the settings).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// See [`PgStore::set_sort_index_threshold`].
    sort_index_threshold: Arc<AtomicI64>,
    /// See [`PgStore::set_audit_outbox`].
    audit_outbox: Arc<std::sync::atomic::AtomicBool>,
    /// Set when a relay found the outbox empty with the outbox off: nothing can
    /// enter it then (every write goes to the audit log), so later relays, one
    /// after each write, skip the query. Cleared by every write to the outbox.
    outbox_drained: Arc<std::sync::atomic::AtomicBool>,
    /// One outbox relay at a time in this process: a relay holds a connection
    /// while the audit log answers, so relays piling up behind a frozen log would
    /// take the pool from every other request.
    relay_gate: Arc<tokio::sync::Mutex<()>>,
    /// See [`PgStore::with_read_replica`].
    replicas: Arc<replicas::Replicas>,
    /// Connections kept for listings on the primary (see the `listers` module).
    listers: Arc<listers::Listers>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// with the usual query parameters such as `sslmode`), with a pool of up to
    /// [`MAX_CONNECTIONS`](Self::MAX_CONNECTIONS) connections, and brings its schema
    /// up to date (concurrent starts are safe: migrations take an advisory lock).
    ///
    /// TLS follows libpq's parameters: `sslmode=require` encrypts,
    /// `sslmode=verify-full&sslrootcert=/path/ca.pem` also checks the server's
    /// certificate and name against that CA (Amazon RDS: its regional bundle).
    /// The `sslrootcert` file is read here, so a wrong path or file fails at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let e = kcl_aws::PgStore::connect(
    ///     "postgres://kcl:secret@db.internal/kcl?sslmode=verify-full&sslrootcert=/nope.pem",
    /// )
    /// .await
    /// .unwrap_err();
    /// assert!(e.to_string().contains("/nope.pem"));
    /// assert!(!e.to_string().contains("secret"));
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, AwsError> {
        Self::connect_with(Self::parse_url(url)?, Self::pool_options()).await
    }

    /// A URL's connection options; its `sslrootcert` file is read at once.
    fn parse_url(url: &str) -> Result<PgConnectOptions, AwsError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(AwsError::Config(
                "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
            ));
        }
        crate::tls::install_crypto_provider();
        if let Some(ca) = url::Url::parse(url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "sslrootcert")
                .map(|(_, v)| v.into_owned())
        }) {
            // sqlx reads it only at the first handshake, with a vaguer message.
            crate::tls::read_ca_file("sslrootcert", std::path::Path::new(&ca))?;
        }
        PgConnectOptions::from_str(url)
            .map_err(|e| AwsError::Config(format!("bad PostgreSQL URL: {}", redact(&e))))
    }

    /// The pool settings [`connect`](Self::connect) uses, to adjust and pass to
    /// [`connect_with`](Self::connect_with).
    ///
    /// A connection that sat idle in the pool for a second or more is pinged before
    /// it is handed out, and dropped when the ping fails (a server restart, an idle
    /// timeout on a proxy); one in steady use is not, where sqlx's default pings
    /// before every use: a round trip to the server as dear as a small query. sqlx
    /// still pings each connection as it returns to the pool, so a connection a
    /// failure broke is closed there.
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
    }

    /// Connects with explicit connection and pool settings (KCL's session settings,
    /// [`session_options`](Self::session_options), are added to `options`), and
    /// migrates (see [`migrate`](Self::migrate)).
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, AwsError> {
        let pool = pool
            .connect_with(Self::session_options(options))
            .await
            .map_err(AwsError::PostgresConnect)?;
        let store = Self::with_pool(pool, true);
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to the database at `url` (as [`connect`](Self::connect) reads it)
    /// with these pool settings, and migrates nothing: follow with
    /// [`migrate`](Self::migrate) or [`check_schema`](Self::check_schema).
    pub async fn connect_without_migrating(
        url: &str,
        pool: PgPoolOptions,
    ) -> Result<Self, AwsError> {
        let pool = pool
            .connect_with(Self::session_options(Self::parse_url(url)?))
            .await
            .map_err(AwsError::PostgresConnect)?;
        Ok(Self::with_pool(pool, true))
    }

    /// A store on a pool of your own, as it is: nothing is migrated or checked (call
    /// [`migrate`](Self::migrate) or [`check_schema`](Self::check_schema)), and
    /// KCL's tables share the pool's database and search path with your own.
    ///
    /// KCL cannot set session settings on connections it did not open: build the
    /// pool with [`session_options`](Self::session_options) applied to your
    /// connection options, as [`connect`](Self::connect) does. Without them,
    /// renting under a default isolation stricter than `READ COMMITTED` fails more
    /// often (retried, never wrong), and a dropped request or a network partition
    /// can hold a connection as long as your settings allow.
    ///
    /// ```no_run
    /// # async fn host() -> Result<(), Box<dyn std::error::Error>> {
    /// use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    ///
    /// let options: PgConnectOptions = "postgres://app@db.internal/app".parse()?;
    /// let pool = PgPoolOptions::new()
    ///     .max_connections(20)
    ///     .connect_with(kcl_aws::PgStore::session_options(options))
    ///     .await?;
    /// // Your own migrations, in sqlx's table...
    /// // sqlx::migrate!().run(&pool).await?;
    /// // ...and KCL's, in its own (`_kcl_migrations`).
    /// let store = kcl_aws::PgStore::from_pool(pool.clone());
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    pub fn from_pool(pool: PgPool) -> Self {
        Self::with_pool(pool, false)
    }

    /// A store on `pool`; `keep`: whether listings keep connections of it (on a
    /// pool KCL opened, not on a host's).
    fn with_pool(pool: PgPool, keep: bool) -> Self {
        Self {
            listers: Arc::new(listers::listers(&pool, keep)),
            pool,
            sort_index_threshold: Arc::new(AtomicI64::new(Self::DEFAULT_SORT_INDEX_THRESHOLD)),
            audit_outbox: Arc::default(),
            outbox_drained: Arc::default(),
            relay_gate: Arc::default(),
            replicas: Arc::default(),
        }
    }

    /// Brings KCL's tables up to date: applies the pending migrations, recorded in
    /// KCL's own table `_kcl_migrations` (never sqlx's default `_sqlx_migrations`,
    /// which a host's own migrations may use), under an advisory lock so that
    /// concurrent starts are safe. A database migrated by an earlier KCL, which
    /// recorded them in `_sqlx_migrations`, has its records moved over first.
    pub async fn migrate(&self) -> Result<(), AwsError> {
        schema::migrate(&self.pool)
            .await
            .map_err(AwsError::PostgresMigrate)
    }

    /// Checks that KCL's tables are up to date without changing anything: for a
    /// server that leaves migrations to `kcl migrate` run out of band
    /// (`KCL_DATABASE_MIGRATE=verify`). Fails with
    /// [`AwsError::SchemaBehind`] naming the missing migrations.
    pub async fn check_schema(&self) -> Result<(), AwsError> {
        let pending = schema::pending(&self.pool)
            .await
            .map_err(AwsError::PostgresMigrate)?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(AwsError::SchemaBehind { pending })
        }
    }

    /// `options` with the session settings KCL's queries are written for: the
    /// isolation the rental invariant is written for (a server or role default of
    /// REPEATABLE READ would turn concurrent rentals into serialization failures),
    /// and bounds so a dropped request or a partition cannot hold a connection or a
    /// row lock forever. Commits are synchronous (whatever the role's default), so
    /// that a commit that has returned is flushed, which the position read replicas
    /// are compared with assumes. Apply them to the pool you hand
    /// [`from_pool`](Self::from_pool).
    pub fn session_options(options: PgConnectOptions) -> PgConnectOptions {
        options.options([
            // sqlx escapes the space (since 0.9).
            ("default_transaction_isolation", "read committed"),
            ("synchronous_commit", "on"),
            ("statement_timeout", "15s"),
            ("lock_timeout", "10s"),
            ("idle_in_transaction_session_timeout", "30s"),
        ])
    }

    /// The default of [`set_sort_index_threshold`](Self::set_sort_index_threshold).
    pub const DEFAULT_SORT_INDEX_THRESHOLD: i64 = 2000;

    /// Below how many rows passing its most selective filter a listing with a
    /// search collects those rows through the filters' indexes and sorts them,
    /// instead of leaving the plan to PostgreSQL (which, for a rare full-text prefix
    /// it has no statistics about, tends to walk the sort index through the whole
    /// table). Counting stops at the threshold, so a search matching many books costs
    /// one count of this many matches more.
    /// Tuning only: results are the same either way (tests set it to 1 and to
    /// `i64::MAX` to exercise both plans).
    pub fn set_sort_index_threshold(&self, rows: i64) {
        self.sort_index_threshold
            .store(rows.max(1), Ordering::Relaxed);
    }

    /// Where the audit events of this store's writes go, in the write's own
    /// transaction: with `false` (the default) into this database's audit log (the
    /// store is also the [`AuditLog`](kcl_core::ports::AuditLog)); with `true` into
    /// its outbox, for an audit log that lives elsewhere (DynamoDB), to which
    /// [`AuditOutbox::relay`](kcl_core::ports::AuditOutbox::relay) moves them from
    /// any number of servers at once. Every clone of the store shares the setting.
    pub fn set_audit_outbox(&self, outbox: bool) {
        self.audit_outbox.store(outbox, Ordering::Relaxed);
    }

    fn sort_index_threshold(&self) -> i64 {
        self.sort_index_threshold.load(Ordering::Relaxed)
    }

    /// The default largest number of connections of one store.
    pub const MAX_CONNECTIONS: u32 = MAX_CONNECTIONS;

    /// The connection pool, for queries of your own.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection (of every clone). Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.listers.close();
        self.pool.close().await;
        self.close_replicas().await;
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
