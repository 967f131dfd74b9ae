//! Configuration from the environment: every adapter is chosen by a URL.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `KCL_DATA_DIR` | `./kcl-data` | where the embedded profile keeps its files |
//! | `KCL_HTTP_ADDR` | `127.0.0.1:8080` | the address the server listens on |
//! | `KCL_DATABASE_URL` | `sqlite://$KCL_DATA_DIR/kcl.db` | `sqlite://PATH`, `postgres://...` (feature `aws`) or `memory://` |
//! | `KCL_DATABASE_MAX_CONNECTIONS` | 10 | the PostgreSQL pool's size, 1 to 1000 (each read replica gets a pool of this size too) |
//! | `KCL_DATABASE_MIGRATE` | `apply` | `apply`: a starting server applies pending migrations; `verify` (PostgreSQL): it refuses to start while any is pending, for deployments that run `kcl migrate` out of band |
//! | `KCL_DATABASE_SCHEMA` | none (`public`) | PostgreSQL: the schema KCL's tables live in, created when missing, so a host's own tables of the same names can share the database |
//! | `KCL_DATABASE_READ_URL` | none | PostgreSQL read replicas (hot standbys of `KCL_DATABASE_URL`), separated by commas: listings, searches, sales summaries and reports read on one that has replayed every write they must see, else on the primary (see `docs/operations.md`) |
//! | `KCL_BLOBS` | `file://$KCL_DATA_DIR/blobs` | `file://PATH`, `s3://bucket[/prefix][?path_style=true&checksums=when_required]` (feature `aws`) or `memory://` |
//! | `KCL_QUEUE` | the database: `sqlite` with SQLite, `postgres` with PostgreSQL, `memory://` with `memory://` | `sqlite` (the database's file), `postgres` (the database's tables, feature `aws`), `sqs://<queue name or URL>` (feature `aws`) or `memory://` (lost at restart: only when named) |
//! | `KCL_AUDIT` | the database | `dynamodb://<table>` (feature `aws`) puts the audit log, and the daily sales totals, in DynamoDB |
//! | `KCL_STATUS` | `KCL_AUDIT`'s table when it is DynamoDB, else the database | `dynamodb://<table>` or `database` (processing statuses) |
//! | `KCL_THUMB_SIZE` | `256` | a thumbnail's longest side, in pixels (16 to 2048) |
//! | `KCL_THUMB_STALE_SECS` | `21600` (6 h) | a cover still unprocessed this long after its last status change lost its task: reading its status records `ERROR` |
//! | `KCL_OCR_LANG` | `eng` | Tesseract's language(s), such as `por` or `eng+por` (feature `tesseract`; run with `OMP_THREAD_LIMIT=1`) |
//! | `KCL_OCR_PSM` | `6` | Tesseract's page segmentation: `6` one block of text (photos of a page of one column, receipts), `3` automatic layout (several columns), `7` one line, `11` sparse text |
//! | `KCL_JOB_MAX_IMAGES` | `50` | most images in one OCR job (1 to 1000) |
//! | `KCL_JOB_RETENTION_SECS` | `172800` (2 days) | an OCR item unfinished this long after its job was created becomes EXPIRED |
//! | `KCL_REPORTS` | `KCL_BLOBS` | where sales reports are written: `file://PATH`, `s3://bucket[/prefix]` (a separate bucket on AWS) or `memory://` |
//! | `KCL_SALES_PARQUET` | `on` | `on` writes each loaded sales file as Parquet under `sales/curated/`; `off` skips it |
//! | `KCL_SALES_MAX_BYTES` | `2147483648` (2 GiB) | the largest sales file accepted |
//! | `KCL_SALES_INCOMING` | none (`sales/incoming/` in `KCL_BLOBS`) | `s3://bucket[/prefix]`: a bucket of its own where sales files arrive; the ingest function loads the objects created there (feature `aws`; see `docs/sales.md`) |
//! | `KCL_LOCALE` | none: the browser's `Accept-Language` for the UI (English when it names neither), `en` for reports | `en` or `pt-BR`: the language of the web UI and of problem titles (a visitor's own choice, the UI's language link, comes first), and how sales reports write numbers and dates unless a request names a `locale` (scheduled reports included); a pt-BR CSV report has `;` between cells, `,` decimals, dd/mm/aaaa and a UTF-8 byte order mark |
//! | `KCL_CURRENCY` | `BRL` | the ISO 4217 code the UI writes amounts in: `R$ 1.234,56` in pt-BR, `R$1,234.56` in en (`USD`: `US$`/`$`, `EUR`: `€`, `GBP`: `£`, any other: its code). Amounts are never converted |
//! | `KCL_SALES_PROFILES` | none | the path of a TOML file of named formats for sales files that arrive as objects (`sales/incoming/`, `KCL_SALES_INCOMING`), chosen by key prefix: `[profiles.NAME]` with `prefix`, `columns` (KCL column = your header), `date_order` (`dmy`, `mdy`, `ymd`) and `tax_rate` (percent); see `docs/sales.md` |
//! | `KCL_REPORT_SCHEDULE` | none (`off`) | `daily HH:MM`: every day at that local time, the previous day's sales report of each store that sold (CSV, and PDF with the `pdf` feature) is written to `KCL_REPORTS` as `reports/daily-{day}-{store}.{csv,pdf}`, once per day however many servers and workers run (see `docs/sales.md`) |
//! | `KCL_REPORT_TZ` | `America/Sao_Paulo` | the IANA time zone of `KCL_REPORT_SCHEDULE` (and of the day reported on) |
//! | `KCL_SPOOL_DIR` | the system's temporary folder | where sales files are spooled while they are ingested (needs about twice the file's size free) |
//! | `KCL_WORKER` | `on` | `on` runs the queue worker inside the server; `off` leaves tasks to separate workers (`examples/worker.rs`) |
//! | `KCL_WORKER_CONCURRENCY` | the number of cores | tasks a worker runs at once (1 to 64) |
//! | `KCL_WORKER_ADDR` | none (no listener) | where the standalone worker (`kcl worker`) serves `/health/live`, `/health` and `/metrics`, such as `127.0.0.1:9090` |
//! | `KCL_AUTO_PROVISION` | `0` | `1` creates missing buckets, queues (with their dead-letter queue) and tables at start: for development and tests |
//! | `KCL_CACHE_URL` | `memory://` | `memory://` (in-process) or `redis://host:port[/db]`, `rediss://` with TLS (feature `aws`; shared by every server) |
//! | `KCL_CACHE_CA_FILE` | the public roots | a PEM file of CA certificates that a `rediss://` server's certificate must chain to |
//! | `KCL_LIST_CACHE_TTL_SECS` | `60` | how long a listing page is cached (every write invalidates all); `0` disables |
//! | `KCL_AUTH` | `on` | `on` requires logins and tokens (see `docs/auth.md`); `off` only behind a gateway that authenticates for you |
//! | `KCL_AUTH_JWT_SECRET` | generated into `$KCL_DATA_DIR/auth.json` | HS256 secret (32+ bytes) for API tokens and sessions; required on PostgreSQL, where every server must share it |
//! | `KCL_AUTH_JWT_PUBLIC_KEY` | none | a PEM file: also accept an identity provider's tokens signed with its private key |
//! | `KCL_AUTH_JWT_ALG` | `RS256` | that key's algorithm: `RS256`, `RS384`, `RS512`, `PS256`, `ES256`, `ES384` or `EdDSA` |
//! | `KCL_AUTH_JWT_ISSUER`, `KCL_AUTH_JWT_AUDIENCE` | none | required `iss` / `aud` of HS256 tokens |
//! | `KCL_AUTH_USERS` | `auth.json`'s users | a users file: `name:role:argon2-hash` per line (`kcl auth hash-password`) |
//! | `KCL_AUTH_PUBLIC_READS` | `off` | `on` lets anyone read the catalog, rentals and jobs without logging in |
//! | `KCL_AUTH_SESSION_SECS` | `43200` (12 h) | how long a login session or an issued token lasts |
//! | `KCL_AUTH_COOKIE_SECURE` | `on`, `off` when listening on loopback | the session cookie's `Secure` attribute (needs HTTPS) |
//! | `KCL_HTTP_BACKLOG` | `4096` | connections waiting to be accepted (the kernel caps it at `net.core.somaxconn`); a burst beyond it is dropped and retried by clients a second or more later |
//! | `KCL_HTTP_MAX_IN_FLIGHT` | `512` | requests handled at once; more get `503` + `Retry-After` |
//! | `KCL_HTTP_MAX_UPLOADS` | `8` | uploads handled at once |
//! | `KCL_LOG_FORMAT` | `text` | `json` logs one JSON object per line |
//! | `KCL_METRICS` | `on` | `on` records metrics and serves `/metrics`; `off` neither |
//! | `KCL_METRICS_TOKEN` | none: `/metrics` is public | a token (16+ visible ASCII characters) that `/metrics` (the server's and the worker's) wants as `Authorization: Bearer <token>`; others get `401` |
//! | `KCL_TRUSTED_PROXIES` | none | CIDRs (or addresses), separated by commas or spaces, of the load balancers and proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed: the client's address for login throttling and logs (see `docs/operations.md`) |
//!
//! Secrets can also come from files, as systemd credentials, ECS and Kubernetes
//! provide them: `KCL_AUTH_JWT_SECRET_FILE`, `KCL_DATABASE_URL_FILE`,
//! `KCL_DATABASE_READ_URL_FILE`, `KCL_CACHE_URL_FILE` and `KCL_METRICS_TOKEN_FILE` name a file holding the value
//! (one trailing newline is ignored). Setting both forms of one variable is an error.
//!
//! A value KCL cannot use fails at start with a message naming the variable, and
//! never repeats a secret.

mod auth;
mod http;
mod processing;
mod storage;
mod vars;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use vars::SECRET_VARIABLES;
use vars::{known_variable, redact, Vars};

/// `KCL_DATABASE_MIGRATE`: what a starting server does about pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Migrate {
    /// Applies them (under a lock: concurrent starts are safe).
    #[default]
    Apply,
    /// Refuses to start while any is pending (PostgreSQL; run `kcl migrate`).
    Verify,
}

/// A configuration value KCL cannot use, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Where the relational data lives. Its `Debug` hides a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// A SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://user:password@host:port/database`).
    Postgres(String),
    /// Nothing persisted (tests, demos).
    Memory,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
            Self::Memory => f.write_str("Memory"),
        }
    }
}

impl DatabaseConfig {
    /// A description for logs, without the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact(url),
            Self::Memory => "memory://".into(),
        }
    }
}

/// Where blobs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobsConfig {
    /// A local folder.
    File(PathBuf),
    /// An S3 bucket (`s3://bucket[/prefix][?options]`).
    S3(String),
    /// Nothing persisted.
    Memory,
}

/// Where tasks are queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueKind {
    /// A durable queue in the SQLite database.
    Sqlite,
    /// A durable queue in the PostgreSQL database (`FOR UPDATE SKIP LOCKED`).
    Postgres,
    /// An SQS queue, by name or URL.
    Sqs(String),
    /// In memory.
    Memory,
}

/// Authentication settings of the HTTP host (see `docs/auth.md`).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// `KCL_AUTH`: whether requests must be authenticated.
    pub enabled: bool,
    /// `KCL_AUTH_JWT_SECRET`: the HS256 secret; `None` uses the data dir's `auth.json`.
    pub jwt_secret: Option<String>,
    /// `KCL_AUTH_JWT_PUBLIC_KEY`: an identity provider's public key (PEM file).
    pub jwt_public_key: Option<PathBuf>,
    /// `KCL_AUTH_JWT_ALG`: that key's algorithm.
    pub jwt_algorithm: String,
    /// `KCL_AUTH_JWT_ISSUER`.
    pub jwt_issuer: Option<String>,
    /// `KCL_AUTH_JWT_AUDIENCE`.
    pub jwt_audience: Option<String>,
    /// `KCL_AUTH_USERS`: a users file; `None` uses `auth.json`'s users.
    pub users_file: Option<PathBuf>,
    /// `KCL_AUTH_PUBLIC_READS`.
    pub public_reads: bool,
    /// `KCL_AUTH_SESSION_SECS`.
    pub session_secs: u64,
    /// `KCL_AUTH_COOKIE_SECURE`: `None` decides from the listen address.
    pub secure_cookies: Option<bool>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("enabled", &self.enabled)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("jwt_public_key", &self.jwt_public_key)
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("users_file", &self.users_file)
            .field("public_reads", &self.public_reads)
            .field("session_secs", &self.session_secs)
            .field("secure_cookies", &self.secure_cookies)
            .finish()
    }
}

/// The whole configuration. Its `Debug` hides passwords and secrets. New settings
/// may come in a minor release (`#[non_exhaustive]`): build it with
/// [`Config::from_env`] or [`Config::from_vars`], then change fields.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Data folder of the embedded profile.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// The listening socket's backlog (`KCL_HTTP_BACKLOG`).
    pub http_backlog: u32,
    /// Relational store.
    pub database: DatabaseConfig,
    /// `KCL_DATABASE_READ_URL`: PostgreSQL read replicas of `database` (hot
    /// standbys streaming its WAL) for listings, searches, sales summaries and
    /// reports.
    pub database_read_urls: Vec<String>,
    /// `KCL_DATABASE_MAX_CONNECTIONS`: the PostgreSQL pool's size (default 10; each
    /// read replica gets a pool of the same size).
    pub database_max_connections: u32,
    /// `KCL_DATABASE_MIGRATE`: whether a server applies pending migrations when it
    /// starts (`apply`, the default) or only checks there are none (`verify`,
    /// PostgreSQL: `kcl migrate` runs them out of band).
    pub database_migrate: Migrate,
    /// `KCL_DATABASE_SCHEMA`: the PostgreSQL schema KCL's tables live in (default
    /// none: the database's search path, `public`), created by the first migration
    /// when missing; read replicas use it too.
    pub database_schema: Option<String>,
    /// Blob store.
    pub blobs: BlobsConfig,
    /// Task queue.
    pub queue: QueueKind,
    /// Cache: `None` for the in-process cache, else a Redis URL.
    pub cache_url: Option<String>,
    /// `KCL_CACHE_CA_FILE`: CA certificates (PEM) for a `rediss://` cache.
    pub cache_ca_file: Option<PathBuf>,
    /// Audit log: `None` for the database, else a DynamoDB table.
    pub audit_table: Option<String>,
    /// Processing statuses: `None` for the database, else a DynamoDB table.
    pub status_table: Option<String>,
    /// Create missing buckets, queues and tables at start.
    pub auto_provision: bool,
    /// Run the queue worker inside the server.
    pub in_process_worker: bool,
    /// Tesseract's language(s).
    pub ocr_language: String,
    /// Tesseract's page segmentation mode (3, 6, 7 or 11).
    pub ocr_page_segmentation: u8,
    /// Tasks a worker runs at once.
    pub worker_concurrency: usize,
    /// Where the standalone worker serves its health checks and metrics; `None`: no
    /// listener.
    pub worker_addr: Option<SocketAddr>,
    /// Service tunables.
    pub settings: kcl_core::services::Settings,
    /// `KCL_LOCALE`: the language of the web UI and problem titles, and how
    /// reports write numbers and dates; `None`: the browser's `Accept-Language`
    /// for the UI, English for reports.
    pub locale: Option<kcl_core::domain::Locale>,
    /// `KCL_CURRENCY`: how the UI writes amounts (default BRL, `R$`).
    pub currency: kcl_core::domain::Currency,
    /// Where sales reports are written; `None` is [`blobs`](Self::blobs).
    pub reports: Option<BlobsConfig>,
    /// The bucket (`s3://bucket[/prefix]`) where sales files arrive for the ingest
    /// function, apart from the blob store (`KCL_SALES_INCOMING`); `None`: under
    /// `sales/incoming/` in [`blobs`](Self::blobs).
    pub sales_incoming: Option<String>,
    /// Authentication of the HTTP host.
    pub auth: AuthConfig,
    /// Requests the HTTP host handles at once.
    pub max_in_flight: usize,
    /// Uploads the HTTP host handles at once.
    pub max_uploads: usize,
    /// Whether the HTTP host records metrics and serves `/metrics`.
    pub metrics: bool,
    /// `KCL_METRICS_TOKEN`: the bearer token `/metrics` wants; `None`: it is public.
    pub metrics_token: Option<String>,
    /// `KCL_TRUSTED_PROXIES`: the networks whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("http_addr", &self.http_addr)
            .field("http_backlog", &self.http_backlog)
            .field("database", &self.database)
            .field(
                "database_read_urls",
                &self
                    .database_read_urls
                    .iter()
                    .map(|u| redact(u))
                    .collect::<Vec<_>>(),
            )
            .field("database_max_connections", &self.database_max_connections)
            .field("database_migrate", &self.database_migrate)
            .field("database_schema", &self.database_schema)
            .field("blobs", &self.blobs)
            .field("queue", &self.queue)
            .field("cache_url", &self.cache_url.as_deref().map(redact))
            .field("cache_ca_file", &self.cache_ca_file)
            .field("audit_table", &self.audit_table)
            .field("status_table", &self.status_table)
            .field("auto_provision", &self.auto_provision)
            .field("in_process_worker", &self.in_process_worker)
            .field("ocr_language", &self.ocr_language)
            .field("ocr_page_segmentation", &self.ocr_page_segmentation)
            .field("worker_concurrency", &self.worker_concurrency)
            .field("worker_addr", &self.worker_addr)
            .field("settings", &self.settings)
            .field("reports", &self.reports)
            .field("sales_incoming", &self.sales_incoming)
            .field("auth", &self.auth)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_uploads", &self.max_uploads)
            .field("metrics", &self.metrics)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("trusted_proxies", &self.trusted_proxies)
            .field("locale", &self.locale)
            .field("currency", &self.currency)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars = HashMap::new();
        // Only KCL's own variables are read; others may hold anything (even non-UTF-8).
        for (k, v) in std::env::vars_os() {
            let Some(k) = k.to_str().filter(|k| k.starts_with("KCL_")) else {
                continue;
            };
            let v = v.into_string().map_err(|v| ConfigError {
                variable: known_variable(k),
                value: v.to_string_lossy().into_owned(),
                reason: "is not valid UTF-8".into(),
            })?;
            vars.insert(k.to_owned(), v);
        }
        Self::from_vars(&vars)
    }

    /// Reads a set of variables (what [`Config::from_env`] does with the environment).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use kcl::config::{Config, DatabaseConfig};
    /// let vars = HashMap::from([("KCL_DATA_DIR".to_owned(), "/tmp/x".to_owned())]);
    /// let c = Config::from_vars(&vars).unwrap();
    /// assert_eq!(c.database, DatabaseConfig::Sqlite("/tmp/x/kcl.db".into()));
    /// let bad = HashMap::from([("KCL_DATABASE_URL".to_owned(), "mysql://db".to_owned())]);
    /// assert_eq!(Config::from_vars(&bad).unwrap_err().variable, "KCL_DATABASE_URL");
    /// ```
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let resolved = vars::read_secret_files(vars)?;
        let v = Vars::new(resolved.as_ref().unwrap_or(vars));
        let storage::Storage {
            data_dir,
            database,
            database_read_urls,
            database_max_connections,
            database_migrate,
            database_schema,
            blobs,
            queue,
            cache_url,
            cache_ca_file,
            audit_table,
            status_table,
            auto_provision,
            reports,
            sales_incoming,
        } = storage::read(&v)?;
        let processing::Processing {
            in_process_worker,
            worker_concurrency,
            worker_addr,
            ocr_language,
            ocr_page_segmentation,
            mut settings,
        } = processing::read(&v)?;
        let http::Http {
            http_addr,
            http_backlog,
            max_in_flight,
            max_uploads,
            trusted_proxies,
            metrics,
            metrics_token,
            locale,
            currency,
        } = http::read(&v)?;
        // Scheduled reports, and reports whose request names no locale.
        settings.sales.locale = locale.unwrap_or_default();
        let auth = auth::read(&v)?;
        Ok(Self {
            locale,
            currency,
            metrics,
            metrics_token,
            trusted_proxies,
            auth,
            max_in_flight,
            max_uploads,
            reports,
            sales_incoming,
            cache_url,
            cache_ca_file,
            audit_table,
            status_table,
            auto_provision,
            in_process_worker,
            ocr_language,
            ocr_page_segmentation,
            worker_concurrency,
            worker_addr,
            settings,
            data_dir,
            http_addr,
            http_backlog,
            database,
            database_read_urls,
            database_max_connections,
            database_migrate,
            database_schema,
            blobs,
            queue,
        })
    }
}

#[cfg(test)]
mod tests;
