//! The composition root: the one place that knows every adapter. It reads the
//! [`Config`], builds the adapters it names and the services over them.

use std::sync::Arc;

use kcl_core::memory::{MemoryBlobStore, MemoryCache, MemoryQueue};
use kcl_core::ports::EndedSessions;
#[cfg(any(feature = "local", feature = "aws"))]
use kcl_core::ports::QueueConfig;
use kcl_core::ports::{
    AuditLog, AuditOutbox, BlobStore, BookRepo, Cache, HealthProbe, JobRepo, OcrEngine, RentalRepo,
    SalesDays, SalesRepo, StatusStore, SystemClock, TaskQueue, UuidV7Ids,
};
use kcl_core::services::{BlobStoreProbe, QueueProbe, Settings};
use kcl_core::Services;

use crate::config::{BlobsConfig, Config, DatabaseConfig, QueueKind};

/// How old a spool file must be to count as a crash's leftover at start.
const SPOOL_LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Why KCL could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A configuration value is unusable.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// An adapter could not be opened.
    #[error("{what}: {source}")]
    Adapter {
        /// Which adapter, and the variable that chose it.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StartError {
    /// Maps an adapter's error to [`StartError::Adapter`] about `what`.
    #[cfg_attr(
        not(any(feature = "local", feature = "aws", feature = "tesseract")),
        allow(dead_code)
    )]
    fn adapter<E: std::error::Error + Send + Sync + 'static>(
        what: impl Into<String>,
    ) -> impl FnOnce(E) -> Self {
        move |e| Self::Adapter {
            what: what.into(),
            source: Box::new(e),
        }
    }
}

/// A database a host opened itself, for [`Kcl::open_on`].
#[cfg(any(feature = "local", feature = "aws"))]
#[non_exhaustive]
pub enum Database {
    /// A SQLite store (`kcl::local::SqliteStore`).
    #[cfg(feature = "local")]
    Sqlite(kcl_local::SqliteStore),
    /// A PostgreSQL store (`kcl::aws::PgStore`, for example on your own pool with
    /// `PgStore::from_pool`).
    #[cfg(feature = "aws")]
    Postgres(kcl_aws::PgStore),
}

/// A running KCL: the services, plus the infrastructure ports hosts need.
pub struct Kcl {
    /// The services.
    pub services: Services,
    /// Blob storage.
    pub blobs: Arc<dyn BlobStore>,
    /// The thumbnail task queue.
    pub tasks: Arc<dyn TaskQueue>,
    /// The OCR task queue.
    pub ocr_tasks: Arc<dyn TaskQueue>,
    /// Processing statuses by object key.
    pub status: Arc<dyn StatusStore>,
    /// Where sales files arrive apart from [`blobs`](Self::blobs)
    /// (`KCL_SALES_INCOMING`), for the ingest function.
    pub sales_incoming: Option<Arc<dyn BlobStore>>,
    #[cfg(feature = "local")]
    sqlite: Option<kcl_local::SqliteStore>,
    #[cfg(feature = "aws")]
    postgres: Option<kcl_aws::PgStore>,
    /// Relays the audit outbox every [`AUDIT_RELAY_EVERY`] while the audit log lives
    /// apart from the books; stopped by [`Kcl::close`] or a drop.
    relay: Option<AbortOnDrop>,
}

/// How often a process relays audit events that their change's own relay could not
/// move (the audit log was down, or the process that made them crashed).
const AUDIT_RELAY_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens the task queue of this name (`tasks`, `ocr`) in a profile's database.
#[cfg(any(feature = "local", feature = "aws"))]
type NamedQueue<'a> = &'a dyn Fn(&str) -> Arc<dyn TaskQueue>;

/// `url` with `search_path` set to `schema` on its connections (a libpq `options`
/// parameter; the schema is a plain name, checked by the configuration, and the
/// URL has no `options` of its own).
#[cfg(feature = "aws")]
pub(crate) fn in_schema(url: &str, schema: Option<&str>) -> String {
    match schema {
        None => url.to_owned(),
        Some(s) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{s}")
        }
    }
}

/// A background task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The relational side of a profile: repositories, audit log, queue, and probes.
struct Relational {
    books: Arc<dyn BookRepo>,
    rentals: Arc<dyn RentalRepo>,
    audit: Arc<dyn AuditLog>,
    /// The audit events the books' store wrote with its changes (see
    /// [`Relational::audit_elsewhere`]).
    outbox: Arc<dyn AuditOutbox>,
    status: Arc<dyn StatusStore>,
    jobs: Arc<dyn JobRepo>,
    sales: Arc<dyn SalesRepo>,
    sales_days: Arc<dyn SalesDays>,
    ended_sessions: Arc<dyn EndedSessions>,
    report_runs: Arc<dyn kcl_core::ports::ReportRuns>,
    replication: Arc<dyn kcl_core::ports::Replication>,
    tasks: Option<Arc<dyn TaskQueue>>,
    ocr_tasks: Option<Arc<dyn TaskQueue>>,
    probes: Vec<Arc<dyn HealthProbe>>,
    #[cfg(feature = "local")]
    sqlite: Option<kcl_local::SqliteStore>,
    #[cfg(feature = "aws")]
    postgres: Option<kcl_aws::PgStore>,
}

impl Relational {
    /// The audit log lives apart from the books (DynamoDB): their store writes each
    /// change's event to its outbox, in the change's transaction, for the services
    /// to relay (a memory catalog always does).
    fn audit_elsewhere(&self) {
        #[cfg(feature = "local")]
        if let Some(store) = &self.sqlite {
            store.set_audit_outbox(true);
        }
        #[cfg(feature = "aws")]
        if let Some(store) = &self.postgres {
            store.set_audit_outbox(true);
        }
    }

    fn memory() -> Self {
        // The same wiring as `MemoryBackend::ports`, minus what the profile chooses.
        let p = kcl_core::memory::MemoryBackend::new().ports();
        Self {
            books: p.books,
            rentals: p.rentals,
            outbox: p.outbox,
            audit: p.audit,
            status: p.status,
            jobs: p.jobs,
            sales: p.sales,
            sales_days: p.sales_days,
            ended_sessions: p.ended_sessions,
            report_runs: p.report_runs,
            replication: p.replication,
            tasks: None,
            ocr_tasks: None,
            probes: Vec::new(),
            #[cfg(feature = "local")]
            sqlite: None,
            #[cfg(feature = "aws")]
            postgres: None,
        }
    }

    /// One database that holds every relational port (SQLite, PostgreSQL), with
    /// its `tasks` and `ocr` queues when the profile keeps them there.
    #[cfg(any(feature = "local", feature = "aws"))]
    fn over<S>(store: Arc<S>, queue: Option<NamedQueue<'_>>, probe: Arc<dyn HealthProbe>) -> Self
    where
        S: BookRepo
            + RentalRepo
            + AuditLog
            + AuditOutbox
            + StatusStore
            + JobRepo
            + SalesRepo
            + SalesDays
            + EndedSessions
            + kcl_core::ports::ReportRuns
            + 'static,
    {
        Self {
            books: store.clone(),
            rentals: store.clone(),
            audit: store.clone(),
            outbox: store.clone(),
            status: store.clone(),
            jobs: store.clone(),
            sales: store.clone(),
            ended_sessions: store.clone(),
            report_runs: store.clone(),
            sales_days: store,
            replication: Arc::new(kcl_core::ports::NoReplicas),
            tasks: queue.map(|named| named("tasks")),
            ocr_tasks: queue.map(|named| named("ocr")),
            probes: vec![probe],
            #[cfg(feature = "local")]
            sqlite: None,
            #[cfg(feature = "aws")]
            postgres: None,
        }
    }

    #[cfg(feature = "local")]
    async fn sqlite(path: &std::path::Path, queue: bool) -> Result<Self, StartError> {
        let store = kcl_local::SqliteStore::open(path)
            .await
            .map_err(StartError::adapter(format!(
                "KCL_DATABASE_URL: cannot open {}",
                path.display()
            )))?;
        Ok(Self::on_sqlite(store, queue))
    }

    /// The relational ports on a SQLite store (with its `tasks` and `ocr` queues
    /// when `queue`).
    #[cfg(feature = "local")]
    fn on_sqlite(store: kcl_local::SqliteStore, queue: bool) -> Self {
        let named = |name: &str| -> Arc<dyn TaskQueue> {
            Arc::new(kcl_local::SqliteQueue::new(
                &store,
                name,
                QueueConfig::default(),
            ))
        };
        let mut r = Self::over(
            Arc::new(store.clone()),
            queue.then_some(&named as NamedQueue<'_>),
            Arc::new(kcl_local::SqliteProbe::new(&store)),
        );
        r.sqlite = Some(store);
        r
    }

    #[cfg(feature = "aws")]
    async fn postgres(url: &str, config: &Config, queue: bool) -> Result<Self, StartError> {
        let schema = config.database_schema.as_deref();
        let replicas: Vec<String> = config
            .database_read_urls
            .iter()
            .map(|u| in_schema(u, schema))
            .collect();
        let pool =
            kcl_aws::PgStore::pool_options().max_connections(config.database_max_connections);
        let mut store = kcl_aws::PgStore::connect_without_migrating(&in_schema(url, schema), pool)
            .await
            .map_err(StartError::adapter(
                "KCL_DATABASE_URL: cannot use the PostgreSQL server",
            ))?;
        match config.database_migrate {
            crate::config::Migrate::Verify => store.check_schema().await,
            _ => store.migrate().await,
        }
        .map_err(StartError::adapter(
            "KCL_DATABASE_URL: cannot use the PostgreSQL server",
        ))?;
        for (i, replica) in replicas.iter().enumerate() {
            store = store
                .with_read_replica(replica)
                .await
                .map_err(StartError::adapter(format!(
                    "KCL_DATABASE_READ_URL: cannot use replica {} of {}",
                    i + 1,
                    replicas.len()
                )))?;
        }
        Ok(Self::on_postgres(store, queue))
    }

    /// The relational ports on a PostgreSQL store (with its `tasks` and `ocr`
    /// queues when `queue`).
    #[cfg(feature = "aws")]
    fn on_postgres(store: kcl_aws::PgStore, queue: bool) -> Self {
        let named = |name: &str| -> Arc<dyn TaskQueue> {
            Arc::new(kcl_aws::PgQueue::new(&store, name, QueueConfig::default()))
        };
        let mut r = Self::over(
            Arc::new(store.clone()),
            queue.then_some(&named as NamedQueue<'_>),
            Arc::new(kcl_aws::PgProbe::new(&store)),
        );
        r.replication = Arc::new(store.clone());
        r.postgres = Some(store);
        r
    }

    #[cfg(not(feature = "aws"))]
    async fn postgres(_: &str, _: &Config, _: bool) -> Result<Self, StartError> {
        Err(crate::ConfigError {
            variable: "KCL_DATABASE_URL",
            value: "postgres://...".into(),
            reason: "this build has no `aws` feature (cargo ... --features aws)".into(),
        }
        .into())
    }

    #[cfg(not(feature = "local"))]
    async fn sqlite(_: &std::path::Path, _: bool) -> Result<Self, StartError> {
        Err(crate::ConfigError {
            variable: "KCL_DATABASE_URL",
            value: "sqlite://...".into(),
            reason: "this build has no `local` feature; use memory:// or enable it".into(),
        }
        .into())
    }
}

impl Kcl {
    /// Everything in memory: nothing persisted.
    ///
    /// ```
    /// let kcl = kcl::Kcl::in_memory();
    /// # let _ = kcl.services;
    /// ```
    pub fn in_memory() -> Self {
        Self::assemble(
            Relational::memory(),
            (
                Arc::new(MemoryQueue::default()),
                Arc::new(MemoryQueue::default()),
            ),
            Arc::new(MemoryBlobStore::default()),
            None,
            None,
            None,
            &Settings::default(),
        )
    }

    /// Builds the adapters `config` names, and the services over them.
    ///
    /// Every remote resource (database, bucket, queue, table) is checked here, so a
    /// wrong setting fails at start with a message naming its variable; with
    /// `auto_provision`, missing buckets, queues and tables are created first.
    pub async fn open(config: &Config) -> Result<Self, StartError> {
        crate::install_crypto_provider();
        let relational = match &config.database {
            DatabaseConfig::Sqlite(path) => {
                Relational::sqlite(path, config.queue == QueueKind::Sqlite).await?
            }
            DatabaseConfig::Postgres(url) => {
                Relational::postgres(url, config, config.queue == QueueKind::Postgres).await?
            }
            DatabaseConfig::Memory => Relational::memory(),
        };
        Self::finish(relational, config).await
    }

    /// KCL on a database you opened (your own pool: `PgStore::from_pool`,
    /// `SqliteStore::from_pools`), with everything else (blobs, queue, cache, audit
    /// table, settings) from `config`; `config.database`, its read replicas and
    /// its pool size are not used. Its task queues live in `database` unless
    /// `config.queue` names SQS or memory. Migrations are yours to run first
    /// (`PgStore::migrate`, `SqliteStore::migrate`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use kcl::{Config, Database, Kcl};
    /// use kcl::local::SqliteStore;
    /// use sqlx::sqlite::SqlitePoolOptions;
    ///
    /// // A host's own pools on its SQLite file, with KCL's tables migrated in.
    /// let dir = tempfile::tempdir().unwrap();
    /// let options = SqliteStore::connect_options(&dir.path().join("app.db")).create_if_missing(true);
    /// let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
    /// let read = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
    /// let store = SqliteStore::from_pools(write, read);
    /// store.migrate().await.unwrap();
    ///
    /// // Everything else from the configuration (here: blobs in the folder).
    /// let vars = std::collections::HashMap::from([
    ///     ("KCL_DATA_DIR".to_owned(), dir.path().display().to_string()),
    /// ]);
    /// let kcl = Kcl::open_on(Database::Sqlite(store), &Config::from_vars(&vars).unwrap())
    ///     .await
    ///     .unwrap();
    /// let draft = kcl::domain::BookDraft::builder("Iracema", "José de Alencar", "85-359-1066-2")
    ///     .year(1865)
    ///     .build()
    ///     .unwrap();
    /// let book = kcl.services.catalog.create(draft).await.unwrap();
    /// assert_eq!(kcl.services.catalog.get(book.id).await.unwrap().title, "Iracema");
    /// kcl.close().await;
    /// # }
    /// ```
    #[cfg(any(feature = "local", feature = "aws"))]
    pub async fn open_on(database: Database, config: &Config) -> Result<Self, StartError> {
        crate::install_crypto_provider();
        let queue_here = matches!(config.queue, QueueKind::Sqlite | QueueKind::Postgres);
        let relational = match database {
            #[cfg(feature = "local")]
            Database::Sqlite(store) => Relational::on_sqlite(store, queue_here),
            #[cfg(feature = "aws")]
            Database::Postgres(store) => Relational::on_postgres(store, queue_here),
        };
        Self::finish(relational, config).await
    }

    /// [`open`](Self::open) once the database is open.
    async fn finish(mut relational: Relational, config: &Config) -> Result<Self, StartError> {
        // Memory queues only when named (KCL_QUEUE=memory://, or a memory database).
        if config.queue == QueueKind::Memory {
            relational.tasks = Some(Arc::new(MemoryQueue::default()));
            relational.ocr_tasks = Some(Arc::new(MemoryQueue::default()));
        }
        let mut cloud = crate::cloud::Cloud::new(config.auto_provision);
        let blobs: Arc<dyn BlobStore> = match &config.blobs {
            BlobsConfig::File(root) => file_blobs("KCL_BLOBS", root).await?,
            BlobsConfig::Memory => Arc::new(MemoryBlobStore::default()),
            BlobsConfig::S3(url) => cloud.s3("KCL_BLOBS", url).await?,
        };
        // Sales reports: their own store when KCL_REPORTS names one.
        let reports: Option<Arc<dyn BlobStore>> = match &config.reports {
            None => None,
            Some(BlobsConfig::File(root)) => Some(file_blobs("KCL_REPORTS", root).await?),
            Some(BlobsConfig::Memory) => Some(Arc::new(MemoryBlobStore::default())),
            Some(BlobsConfig::S3(url)) => Some(cloud.s3("KCL_REPORTS", url).await?),
        };
        let sales_incoming = match &config.sales_incoming {
            None => None,
            Some(url) => Some(cloud.s3("KCL_SALES_INCOMING", url).await?),
        };
        if let QueueKind::Sqs(name) = &config.queue {
            relational.tasks = Some(cloud.sqs(name).await?);
            // OCR tasks have their own queue, needed only where OCR is built in.
            if cfg!(feature = "tesseract") {
                relational.ocr_tasks = Some(cloud.sqs(&format!("{name}-ocr")).await?);
            }
        }
        let tasks = relational
            .tasks
            .take()
            .ok_or_else(|| no_queue(&config.queue))?;
        // Without OCR built in (SQS: no `-ocr` queue opened), OCR requests answer
        // 503 before they queue anything: an empty memory queue stands in.
        let ocr_tasks = match relational.ocr_tasks.take() {
            Some(q) => q,
            None if cfg!(feature = "tesseract") => return Err(no_queue(&config.queue)),
            None => Arc::new(MemoryQueue::default()),
        };
        if let Some(table) = &config.audit_table {
            let (audit, probe) = cloud.audit(table).await?;
            relational.audit_elsewhere();
            relational.audit = audit;
            relational.probes.push(probe);
            // Daily sales totals live beside the audit log, in the same table.
            relational.sales_days = cloud.sales_days(table).await?;
        }
        if let Some(table) = &config.status_table {
            relational.status = cloud.status(table).await?;
        }
        let cache = match &config.cache_url {
            None => None,
            Some(url) => Some(redis_cache(url, config.cache_ca_file.as_deref()).await?),
        };
        let ocr = ocr_engine(&config.ocr_language, config.ocr_page_segmentation)?;
        let mut kcl = Self::assemble(
            relational,
            (tasks, ocr_tasks),
            blobs,
            reports,
            cache,
            ocr,
            &config.settings,
        );
        kcl.sales_incoming = sales_incoming;
        // Spool files a crash left behind (a load in progress keeps touching its own).
        let removed = kcl.services.sales.clean_spool(SPOOL_LEFTOVER_AGE).await;
        if removed > 0 {
            tracing::info!(removed, "removed sales spool files left by a crash");
        }
        // Audit events a crash left in the outbox, and from now on those a failed
        // relay leaves (every server and worker relays; the log drops duplicates).
        let moved = kcl.services.catalog.relay_audit().await;
        if moved > 0 {
            tracing::info!(moved, "relayed audit events left in the outbox");
        }
        if config.audit_table.is_some() {
            let catalog = kcl.services.catalog.clone();
            kcl.relay = Some(AbortOnDrop(tokio::spawn(async move {
                let mut every = tokio::time::interval(AUDIT_RELAY_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    catalog.relay_audit().await;
                }
            })));
        }
        Ok(kcl)
    }

    fn assemble(
        r: Relational,
        (tasks, ocr_tasks): (Arc<dyn TaskQueue>, Arc<dyn TaskQueue>),
        blobs: Arc<dyn BlobStore>,
        reports: Option<Arc<dyn BlobStore>>,
        cache: Option<(Arc<dyn Cache>, Arc<dyn HealthProbe>)>,
        ocr: Option<Arc<dyn OcrEngine>>,
        settings: &Settings,
    ) -> Self {
        let mut probes = r.probes;
        probes.push(Arc::new(BlobStoreProbe(blobs.clone())));
        probes.push(Arc::new(QueueProbe::new("queue", tasks.clone())));
        // OCR tasks, where OCR is built in: reported, but only OCR requests need them.
        if ocr.is_some() {
            probes.push(Arc::new(
                QueueProbe::new("ocr_queue", ocr_tasks.clone()).optional(),
            ));
        }
        let cache = match cache {
            Some((cache, probe)) => {
                probes.push(probe);
                cache
            }
            None => Arc::new(MemoryCache::default()),
        };
        #[cfg(feature = "media")]
        let thumbnailer: Option<Arc<dyn kcl_core::ports::Thumbnailer>> =
            Some(Arc::new(kcl_media::ImageThumbnailer::default()));
        #[cfg(not(feature = "media"))]
        let thumbnailer = None;
        #[cfg(feature = "parquet")]
        let curated: Option<Arc<dyn kcl_core::ports::CuratedWriter>> =
            Some(Arc::new(kcl_formats::parquet::ParquetWriter));
        #[cfg(not(feature = "parquet"))]
        let curated = None;
        #[cfg(feature = "pdf")]
        let pdf_reports: Option<Arc<dyn kcl_core::ports::ReportWriter>> =
            Some(Arc::new(kcl_formats::pdf::PdfReports));
        #[cfg(not(feature = "pdf"))]
        let pdf_reports = None;
        // Every port is replaced: memory only stands in for the fields a later
        // version adds (see `Ports`).
        let mut ports = kcl_core::memory::MemoryBackend::new().ports();
        ports.books = r.books;
        ports.rentals = r.rentals;
        ports.audit = r.audit;
        ports.outbox = r.outbox;
        ports.cache = cache;
        ports.clock = Arc::new(SystemClock);
        ports.ids = Arc::new(UuidV7Ids);
        ports.probes = probes;
        ports.blobs = blobs.clone();
        ports.tasks = tasks.clone();
        ports.status = r.status.clone();
        ports.thumbnailer = thumbnailer;
        ports.jobs = r.jobs;
        ports.ocr_tasks = ocr_tasks.clone();
        ports.ocr = ocr;
        ports.sales = r.sales;
        ports.sales_days = r.sales_days;
        ports.reports = reports;
        ports.curated = curated;
        ports.pdf_reports = pdf_reports;
        ports.spools = Arc::new(kcl_formats::spool::CsvSpooler::new(
            settings
                .sales
                .spool_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir),
        ));
        ports.ended_sessions = r.ended_sessions;
        ports.report_runs = r.report_runs;
        ports.replication = r.replication;
        Self {
            services: Services::with_settings(ports, settings),
            blobs,
            tasks,
            ocr_tasks,
            status: r.status,
            sales_incoming: None,
            #[cfg(feature = "local")]
            sqlite: r.sqlite,
            #[cfg(feature = "aws")]
            postgres: r.postgres,
            relay: None,
        }
    }

    /// Closes connections cleanly (waits for in-flight database work).
    pub async fn close(self) {
        drop(self.relay);
        #[cfg(feature = "local")]
        if let Some(store) = self.sqlite {
            store.close().await;
        }
        #[cfg(feature = "aws")]
        if let Some(store) = self.postgres {
            store.close().await;
        }
    }
}

/// A queue the configuration names was not opened: a bug in the wiring above, told
/// plainly rather than replaced by a memory queue that loses tasks at restart.
fn no_queue(kind: &QueueKind) -> StartError {
    StartError::Adapter {
        what: format!("KCL_QUEUE ({kind:?})"),
        source: "no queue was opened for this setting".into(),
    }
}

#[cfg(feature = "local")]
async fn file_blobs(
    var: &'static str,
    root: &std::path::Path,
) -> Result<Arc<dyn BlobStore>, StartError> {
    // `open` creates the folders and clears temporary files a crash left behind.
    let store = kcl_local::FsBlobStore::open(root.to_path_buf())
        .await
        .map_err(StartError::adapter(format!(
            "{var}: cannot open {}",
            root.display()
        )))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "local"))]
async fn file_blobs(
    var: &'static str,
    _: &std::path::Path,
) -> Result<Arc<dyn BlobStore>, StartError> {
    Err(crate::ConfigError {
        variable: var,
        value: "file://...".into(),
        reason: "this build has no `local` feature; use memory:// or enable it".into(),
    }
    .into())
}

#[cfg(feature = "aws")]
async fn redis_cache(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<(Arc<dyn Cache>, Arc<dyn HealthProbe>), StartError> {
    let cache = match ca_file {
        None => kcl_aws::RedisCache::connect(url).await,
        Some(ca) => kcl_aws::RedisCache::connect_with_ca(url, ca).await,
    }
    .map_err(StartError::adapter(match ca_file {
        None => "KCL_CACHE_URL: cannot use the Redis server".into(),
        Some(ca) => format!(
            "KCL_CACHE_URL with KCL_CACHE_CA_FILE={}: cannot use the Redis server",
            ca.display()
        ),
    }))?;
    Ok((Arc::new(cache.clone()), Arc::new(cache)))
}

#[cfg(not(feature = "aws"))]
async fn redis_cache(
    _: &str,
    _: Option<&std::path::Path>,
) -> Result<(Arc<dyn Cache>, Arc<dyn HealthProbe>), StartError> {
    Err(crate::ConfigError {
        variable: "KCL_CACHE_URL",
        value: "redis://...".into(),
        reason: "this build has no `aws` feature (cargo ... --features aws)".into(),
    }
    .into())
}

/// The OCR engine for `language`, when this build has one (feature `tesseract`).
#[cfg(feature = "tesseract")]
fn ocr_engine(language: &str, psm: u8) -> Result<Option<Arc<dyn OcrEngine>>, StartError> {
    let engine = kcl_media::TesseractEngine::new(language)
        .map_err(StartError::adapter(format!("KCL_OCR_LANG={language}")))?;
    // The configuration accepts only the modes PageSegmentation has.
    let segmentation = kcl_media::PageSegmentation::from_psm(psm).unwrap_or_default();
    Ok(Some(Arc::new(engine.with_page_segmentation(segmentation))))
}

/// Without the `tesseract` feature there is no engine: OCR endpoints answer 503.
#[cfg(not(feature = "tesseract"))]
fn ocr_engine(_: &str, _: u8) -> Result<Option<Arc<dyn OcrEngine>>, StartError> {
    Ok(None)
}
