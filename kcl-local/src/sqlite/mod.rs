//! The SQLite store: opening the database, and the repositories on it.

mod audit;
mod books;
pub(crate) mod codec;
pub(crate) mod fault;
mod jobs;
mod listers;
mod rentals;
mod report_runs;
mod sales;
mod schema;
mod search;
mod search_merge;
mod sessions;
mod status;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::Notify;

use crate::LocalError;

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a free connection before getting `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reader connections (WAL readers never block the writer nor each other).
const READERS: u32 = 8;
/// Listing plans remembered (see `Db::list_plans`).
const LIST_PLANS: u64 = 10_000;
/// How long a listing plan is remembered: a filter whose rows cross the threshold
/// gets the other plan this late at most (both list the same books).
const LIST_PLAN_TTL: Duration = Duration::from_secs(10);

/// The embedded database: books, rentals, the audit log and task queues in one
/// SQLite file.
///
/// It implements [`BookRepo`](kcl_core::ports::BookRepo),
/// [`RentalRepo`](kcl_core::ports::RentalRepo) and
/// [`AuditLog`](kcl_core::ports::AuditLog); [`SqliteQueue`](crate::SqliteQueue)s
/// and [`SqliteProbe`](crate::SqliteProbe)s are built on it.
///
/// The file is in WAL mode (`synchronous=NORMAL`, `busy_timeout` 5 s, foreign keys
/// on). Writes go through a single connection, each in one `BEGIN IMMEDIATE`
/// transaction, and are retried briefly when another process holds the lock; reads
/// use a pool of [`READERS`](Self::READERS) connections, of which listings keep up to
/// half between uses (sqlx tests a connection each time it goes back to its pool, a
/// cost as large as a listing's query). Cheap to clone: clones share the
/// connections.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) db: Arc<Db>,
}

/// What the store's clones share.
pub(crate) struct Db {
    /// Reads: several connections.
    pub(crate) read: SqlitePool,
    /// Read connections kept for listings (see the `listers` module).
    pub(crate) listers: listers::Listers,
    /// Writes: one connection, so writers in this process queue instead of spinning
    /// on the file lock.
    pub(crate) write: SqlitePool,
    /// Wakes long polls of a queue (by name) when a message arrives in this process.
    queue_signals: Mutex<HashMap<String, Arc<Notify>>>,
    /// Keeps the directory of an [`SqliteStore::in_memory`] database alive.
    /// What must live as long as the store (the temporary folder of
    /// [`SqliteStore::in_memory`]).
    _keep: Option<Arc<dyn std::any::Any + Send + Sync>>,
    /// See [`SqliteStore::set_sort_index_threshold`].
    pub(crate) sort_index_threshold: std::sync::atomic::AtomicI64,
    /// Listing plans chosen lately, by threshold and narrowing filters (see
    /// `books::SqliteStore::list_plan`).
    pub(crate) list_plans: moka::sync::Cache<String, books::ListPlan>,
    /// See [`SqliteStore::set_audit_outbox`].
    pub(crate) audit_outbox: std::sync::atomic::AtomicBool,
    /// The full-text index merged after single writes (see the `search_merge`
    /// module).
    pub(crate) search_merge: search_merge::SearchMerge,
    /// Set when a relay found the outbox empty with the outbox off: nothing can
    /// enter it then (every write goes to the audit log), so later relays, one
    /// after each write, skip the query. Cleared by every write to the outbox.
    pub(crate) outbox_drained: std::sync::atomic::AtomicBool,
}

impl Db {
    /// Starts a write transaction holding the database's write lock from its start,
    /// so it never has to upgrade a read snapshot (which could fail under concurrency).
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        match self.write.begin_with("BEGIN IMMEDIATE").await {
            // A write that failed on a full disk or an I/O error is rolled back by
            // SQLite itself; the driver's rollback then fails and the writer
            // connection stays marked as in a transaction, refusing every later one:
            // close it (the pool opens a fresh one) and begin again.
            Err(sqlx::Error::InvalidSavePointStatement) => {
                self.write.acquire().await?.close().await?;
                self.write.begin_with("BEGIN IMMEDIATE").await
            }
            other => other,
        }
    }

    /// The signal of the queue named `name`, shared by every handle on it.
    pub(crate) fn queue_signal(&self, name: &str) -> Arc<Notify> {
        let mut signals = self.queue_signals.lock().unwrap_or_else(|e| e.into_inner());
        signals.entry(name.to_owned()).or_default().clone()
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("read", &self.db.read)
            .field("write", &self.db.write)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The number of reader connections.
    pub const READERS: u32 = READERS;

    /// Opens (or creates, with its parent directories) the database at `path` and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, LocalError> {
        Self::open_with(path, None).await
    }

    /// A fresh, private database in a temporary directory, deleted when the last
    /// clone of the store is dropped. For tests and demos: it behaves exactly like a
    /// file opened with [`open`](Self::open). Feature `scratch`.
    #[cfg(feature = "scratch")]
    pub async fn in_memory() -> Result<Self, LocalError> {
        let dir = tempfile::Builder::new()
            .prefix("kcl-sqlite-")
            .tempdir()
            .map_err(|source| LocalError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let path = dir.path().join("kcl.db");
        Self::open_with(&path, Some(Arc::new(dir))).await
    }

    async fn open_with(
        path: &Path,
        keep: Option<Arc<dyn std::any::Any + Send + Sync>>,
    ) -> Result<Self, LocalError> {
        create_parent(path).await?;
        create_private(path).await?;
        let open_error = |source| LocalError::Open {
            path: path.to_owned(),
            source,
        };
        let base = connect_options(path);
        // The writer first: it creates the file and switches it to WAL (a persistent
        // setting), then migrates, before any reader connects.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await
            .map_err(open_error)?;
        schema::migrate(&write)
            .await
            .map_err(|source| LocalError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        // No ping before each use (sqlx's default): it is a round trip to the
        // connection's thread, as dear as a small query, and a connection to a local
        // file does not go stale the way one over a network does.
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(base)
            .await
            .map_err(open_error)?;
        let store = Self::with_pools(write, read, listers::HELD, keep);
        // Sales lines a crashed load left (see the `sales` module): gone at start.
        if let Err(e) = store.clear_unpublished(false).await {
            tracing::warn!(error = %e, "sales lines of a crashed load left for the next load");
        }
        Ok(store)
    }

    /// A store on pools of your own, on one database file, as they are: nothing is
    /// migrated (call [`migrate`](Self::migrate)). `write` takes every write, in
    /// `BEGIN IMMEDIATE` transactions: give it **one** connection, so that writers
    /// in this process queue in the pool instead of spinning on the file's lock
    /// (with more, they still serialize, through `busy_timeout`). `read` takes the
    /// reads; it may be the same pool as `write` (every read then waits behind
    /// writes). Connections should have what [`open`](Self::open) gives its own: WAL
    /// mode, foreign keys on, a `busy_timeout` (KCL's is 5 s) — see
    /// [`connect_options`](Self::connect_options).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use kcl_local::SqliteStore;
    /// use sqlx::sqlite::SqlitePoolOptions;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let options = SqliteStore::connect_options(&dir.path().join("app.db"))
    ///     .create_if_missing(true);
    /// let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
    /// let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
    /// // The host's own table, beside KCL's.
    /// sqlx::query("CREATE TABLE host_notes (note TEXT)").execute(&write).await.unwrap();
    /// let store = SqliteStore::from_pools(write, read);
    /// store.migrate().await.unwrap();
    /// # }
    /// ```
    pub fn from_pools(write: SqlitePool, read: SqlitePool) -> Self {
        Self::with_pools(write, read, 0, None)
    }

    fn with_pools(
        write: SqlitePool,
        read: SqlitePool,
        held: u32,
        keep: Option<Arc<dyn std::any::Any + Send + Sync>>,
    ) -> Self {
        Self {
            db: Arc::new(Db {
                listers: listers::listers(&read, held),
                read,
                write,
                queue_signals: Mutex::default(),
                audit_outbox: std::sync::atomic::AtomicBool::new(false),
                search_merge: search_merge::SearchMerge::new(),
                outbox_drained: std::sync::atomic::AtomicBool::new(false),
                sort_index_threshold: std::sync::atomic::AtomicI64::new(
                    Self::DEFAULT_SORT_INDEX_THRESHOLD,
                ),
                list_plans: moka::sync::Cache::builder()
                    .max_capacity(LIST_PLANS)
                    .time_to_live(LIST_PLAN_TTL)
                    .build(),
                _keep: keep,
            }),
        }
    }

    /// Brings KCL's tables up to date through the writer pool: applies the pending
    /// migrations, recorded in KCL's own table `_kcl_migrations` (never sqlx's
    /// default `_sqlx_migrations`, which a host's own migrations may use). A file
    /// migrated by an earlier KCL, which recorded them in `_sqlx_migrations`, has
    /// its records moved over first. [`open`](Self::open) does this itself.
    pub async fn migrate(&self) -> Result<(), LocalError> {
        schema::migrate(&self.db.write)
            .await
            .map_err(|source| LocalError::Migrate {
                path: self.db.write.connect_options().get_filename().to_owned(),
                source,
            })
    }

    /// The settings [`open`](Self::open) gives every connection to the file at
    /// `path` (WAL mode is set by its writer, the first to connect: add
    /// `.create_if_missing(true)` to create the file): for pools of your own.
    pub fn connect_options(path: &Path) -> SqliteConnectOptions {
        connect_options(path).journal_mode(SqliteJournalMode::Wal)
    }

    /// The default of [`set_sort_index_threshold`](Self::set_sort_index_threshold).
    pub const DEFAULT_SORT_INDEX_THRESHOLD: i64 = 2000;

    /// From how many filtered rows on a filtered listing walks the sort index
    /// instead of sorting every row that passes the filters. A page of `limit` rows
    /// then visits about `limit * books / threshold` index entries. Tuning only:
    /// results are the same either way (tests set it to 1 to exercise both plans).
    pub fn set_sort_index_threshold(&self, rows: i64) {
        self.db
            .sort_index_threshold
            .store(rows.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Where the audit events of this store's writes go, in the write's own
    /// transaction: with `false` (the default) into this database's audit log (the
    /// store is also the [`AuditLog`](kcl_core::ports::AuditLog)); with `true` into
    /// its outbox, for an audit log that lives elsewhere, to which
    /// [`AuditOutbox::relay`](kcl_core::ports::AuditOutbox::relay) moves them.
    /// Every clone of the store shares the setting.
    pub fn set_audit_outbox(&self, outbox: bool) {
        self.db
            .audit_outbox
            .store(outbox, std::sync::atomic::Ordering::Relaxed);
    }

    /// The reader pool, for read-only queries of your own.
    pub fn pool(&self) -> &SqlitePool {
        &self.db.read
    }

    /// The single-connection writer pool; begin write transactions with
    /// `BEGIN IMMEDIATE` (`pool.begin_with("BEGIN IMMEDIATE")`).
    pub fn write_pool(&self) -> &SqlitePool {
        &self.db.write
    }

    /// Closes every connection (of every clone). Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.db.search_merge.close();
        self.db.listers.close();
        self.db.read.close().await;
        self.db.write.close().await;
    }
}

/// The settings every connection gets.
fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        // Reads go through memory-mapped pages instead of a read() per page, and each
        // connection keeps 16 MiB of pages: listings touch random rows of `books`.
        .pragma("mmap_size", "268435456")
        .pragma("cache_size", "-16384")
}

/// Creates a missing database file readable and writable by its owner only (0600
/// on Unix; SQLite gives its `-wal` and `-shm` files the same mode). An existing
/// file keeps the mode its operator gave it.
async fn create_private(path: &Path) -> Result<(), LocalError> {
    let path = path.to_owned();
    let result = tokio::task::spawn_blocking(move || {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(LocalError::Io { path, source }),
        }
    })
    .await;
    result.unwrap_or(Ok(()))
}

async fn create_parent(path: &Path) -> Result<(), LocalError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|source| LocalError::Io {
            path: PathBuf::from(parent),
            source,
        })
}
