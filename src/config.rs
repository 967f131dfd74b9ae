//! Configuration from the environment: every adapter is chosen by a URL.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `KCL_DATA_DIR` | `./kcl-data` | where the embedded profile keeps its files |
//! | `KCL_HTTP_ADDR` | `127.0.0.1:8080` | the address the server listens on |
//! | `KCL_DATABASE_URL` | `sqlite://$KCL_DATA_DIR/kcl.db` | `sqlite://PATH`, `postgres://...` (feature `aws`) or `memory://` |
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
//! | `KCL_HTTP_MAX_IN_FLIGHT` | `512` | requests handled at once; more get `503` + `Retry-After` |
//! | `KCL_HTTP_MAX_UPLOADS` | `8` | uploads handled at once |
//! | `KCL_LOG_FORMAT` | `text` | `json` logs one JSON object per line |
//! | `KCL_METRICS` | `on` | `on` records metrics and serves `/metrics`; `off` neither |
//! | `KCL_METRICS_TOKEN` | none: `/metrics` is public | a token (16+ visible ASCII characters) that `/metrics` (the server's and the worker's) wants as `Authorization: Bearer <token>`; others get `401` |
//! | `KCL_TRUSTED_PROXIES` | none | CIDRs (or addresses), separated by commas or spaces, of the load balancers and proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed: the client's address for login throttling and logs (see `docs/operations.md`) |
//!
//! Secrets can also come from files, as systemd credentials, ECS and Kubernetes
//! provide them: `KCL_AUTH_JWT_SECRET_FILE`, `KCL_DATABASE_URL_FILE`,
//! `KCL_CACHE_URL_FILE` and `KCL_METRICS_TOKEN_FILE` name a file holding the value
//! (one trailing newline is ignored). Setting both forms of one variable is an error.
//!
//! A value KCL cannot use fails at start with a message naming the variable, and
//! never repeats a secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

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

/// The whole configuration. Its `Debug` hides passwords and secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Data folder of the embedded profile.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// Relational store.
    pub database: DatabaseConfig,
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
    /// Where sales reports are written; `None` is [`blobs`](Self::blobs).
    pub reports: Option<BlobsConfig>,
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
            .field("database", &self.database)
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
            .field("auth", &self.auth)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_uploads", &self.max_uploads)
            .field("metrics", &self.metrics)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("trusted_proxies", &self.trusted_proxies)
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
        let resolved = read_secret_files(vars)?;
        let vars = resolved.as_ref().unwrap_or(vars);
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let data_dir = PathBuf::from(get("KCL_DATA_DIR").unwrap_or_else(|| "./kcl-data".into()));
        let addr_text = get("KCL_HTTP_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let http_addr = addr_text.parse().map_err(|_| ConfigError {
            variable: "KCL_HTTP_ADDR",
            value: addr_text.clone(),
            reason: "must be an address and port such as 127.0.0.1:8080 or 0.0.0.0:80".into(),
        })?;
        let database = match get("KCL_DATABASE_URL") {
            None => DatabaseConfig::Sqlite(data_dir.join("kcl.db")),
            Some(url) => parse_database(&url).map_err(|e| ConfigError {
                value: redact(&e.value),
                ..e
            })?,
        };
        let blobs = match get("KCL_BLOBS") {
            None => BlobsConfig::File(data_dir.join("blobs")),
            Some(url) => parse_blobs(&url)?,
        };
        // The queue lives where the data does; memory only for a memory database
        // (nothing there survives a restart anyway) or when named.
        let default_queue = match database {
            DatabaseConfig::Sqlite(_) => QueueKind::Sqlite,
            DatabaseConfig::Postgres(_) => QueueKind::Postgres,
            DatabaseConfig::Memory => QueueKind::Memory,
        };
        let queue = match get("KCL_QUEUE").as_deref() {
            None => default_queue,
            Some("sqlite") | Some("sqlite://") => QueueKind::Sqlite,
            Some("memory") | Some("memory://") => QueueKind::Memory,
            Some("postgres") | Some("postgres://") => QueueKind::Postgres,
            Some(q) if q.starts_with("sqs://") && q.len() > "sqs://".len() => {
                QueueKind::Sqs(q["sqs://".len()..].to_owned())
            }
            Some(other) => return Err(ConfigError {
                variable: "KCL_QUEUE",
                value: other.to_owned(),
                reason:
                    "unsupported value (supported: sqlite, postgres, sqs://<queue name or URL>, \
                     memory://)"
                        .into(),
            }),
        };
        if queue == QueueKind::Sqlite && !matches!(database, DatabaseConfig::Sqlite(_)) {
            return Err(ConfigError {
                variable: "KCL_QUEUE",
                value: "sqlite".into(),
                reason: "the SQLite queue needs a SQLite KCL_DATABASE_URL; use KCL_QUEUE=memory://"
                    .into(),
            });
        }
        if queue == QueueKind::Postgres && !matches!(database, DatabaseConfig::Postgres(_)) {
            return Err(ConfigError {
                variable: "KCL_QUEUE",
                value: "postgres".into(),
                reason: "the PostgreSQL queue needs a PostgreSQL KCL_DATABASE_URL".into(),
            });
        }
        let cache_url = match get("KCL_CACHE_URL") {
            None => None,
            Some(v) if v == "memory" || v == "memory://" => None,
            Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") => Some(v),
            Some(other) => {
                return Err(ConfigError {
                    variable: "KCL_CACHE_URL",
                    value: redact(&other),
                    reason: "unsupported value (supported: memory://, redis://host:port, \
                             rediss://host:port)"
                        .into(),
                })
            }
        };
        let cache_ca_file = get("KCL_CACHE_CA_FILE").map(PathBuf::from);
        if cache_ca_file.is_some()
            && !cache_url
                .as_ref()
                .is_some_and(|u| u.starts_with("rediss://"))
        {
            return Err(ConfigError {
                variable: "KCL_CACHE_CA_FILE",
                value: get("KCL_CACHE_CA_FILE").unwrap_or_default(),
                reason: "needs a TLS cache: KCL_CACHE_URL=rediss://host:port".into(),
            });
        }
        let table = |variable: &'static str, v: String| match v.strip_prefix("dynamodb://") {
            Some(t) if !t.is_empty() => Ok(Some(t.to_owned())),
            _ if variable == "KCL_STATUS" && v == "database" => Ok(None),
            _ => Err(ConfigError {
                variable,
                value: v.clone(),
                reason: "unsupported value (supported: dynamodb://<table>)".into(),
            }),
        };
        let audit_table = get("KCL_AUDIT")
            .map(|v| table("KCL_AUDIT", v))
            .transpose()?
            .flatten();
        let status_table = match get("KCL_STATUS") {
            None => audit_table.clone(),
            Some(v) => table("KCL_STATUS", v)?,
        };
        let auto_provision = match get("KCL_AUTO_PROVISION").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "KCL_AUTO_PROVISION",
                    value: other.to_owned(),
                    reason: "must be 1 (create missing buckets, queues and tables) or 0".into(),
                })
            }
        };
        let in_process_worker = match get("KCL_WORKER").as_deref() {
            None | Some("on") | Some("1") => true,
            Some("off") | Some("0") => false,
            Some(other) => {
                return Err(ConfigError {
                    variable: "KCL_WORKER",
                    value: other.to_owned(),
                    reason: "must be on (run the queue worker in the server) or off".into(),
                })
            }
        };
        let number = |var: &'static str, range: std::ops::RangeInclusive<u64>| {
            get(var)
                .map(|v| {
                    v.parse::<u64>()
                        .ok()
                        .filter(|n| range.contains(n))
                        .ok_or_else(|| ConfigError {
                            variable: var,
                            value: v.clone(),
                            reason: format!(
                                "must be a number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        })
                })
                .transpose()
        };
        let worker_concurrency = number("KCL_WORKER_CONCURRENCY", 1..=64)?
            .map(|n| n as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let worker_addr = get("KCL_WORKER_ADDR")
            .map(|v| {
                v.parse().map_err(|_| ConfigError {
                    variable: "KCL_WORKER_ADDR",
                    value: v.clone(),
                    reason: "must be an address and port such as 127.0.0.1:9090 or 0.0.0.0:9090"
                        .into(),
                })
            })
            .transpose()?;
        let mut settings = kcl_core::services::Settings::default();
        if let Some(px) = number("KCL_THUMB_SIZE", 16..=2048)? {
            settings.covers.thumb_size = px as u32;
        }
        if let Some(secs) = number("KCL_THUMB_STALE_SECS", 600..=30 * 24 * 3600)? {
            settings.covers.stale_after = std::time::Duration::from_secs(secs);
        }
        if let Some(n) = number("KCL_JOB_MAX_IMAGES", 1..=1000)? {
            settings.jobs.max_images = n as usize;
        }
        if let Some(secs) = number("KCL_JOB_RETENTION_SECS", 60..=30 * 24 * 3600)? {
            settings.jobs.retention = std::time::Duration::from_secs(secs);
        }
        let ocr_language = get("KCL_OCR_LANG").unwrap_or_else(|| "eng".into());
        let lang_ok = ocr_language.split('+').all(|l| {
            !l.is_empty()
                && l.len() <= 32
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !lang_ok {
            return Err(ConfigError {
                variable: "KCL_OCR_LANG",
                value: ocr_language,
                reason: "must be Tesseract language codes such as eng, por or eng+por".into(),
            });
        }
        let ocr_page_segmentation = match get("KCL_OCR_PSM").as_deref() {
            None => 6,
            Some(v) => match v.trim().parse::<u8>() {
                Ok(n @ (3 | 6 | 7 | 11)) => n,
                _ => {
                    return Err(ConfigError {
                        variable: "KCL_OCR_PSM",
                        value: v.to_owned(),
                        reason: "must be 6 (one block of text), 3 (automatic layout), \
                                 7 (one line) or 11 (sparse text)"
                            .into(),
                    })
                }
            },
        };
        if let Some(n) = number("KCL_SALES_MAX_BYTES", 1..=1 << 40)? {
            settings.sales.max_file_bytes = n;
        }
        match get("KCL_SALES_PARQUET").as_deref() {
            None | Some("on") | Some("1") => {}
            Some("off") | Some("0") => settings.sales.curated = false,
            Some(other) => {
                return Err(ConfigError {
                    variable: "KCL_SALES_PARQUET",
                    value: other.to_owned(),
                    reason: "must be on or off".into(),
                })
            }
        }
        if let Some(dir) = get("KCL_SPOOL_DIR") {
            let path = PathBuf::from(&dir);
            if !path.is_dir() {
                return Err(ConfigError {
                    variable: "KCL_SPOOL_DIR",
                    value: dir,
                    reason: "must be an existing folder".into(),
                });
            }
            settings.sales.spool_dir = Some(path);
        }
        let reports = match get("KCL_REPORTS") {
            None => None,
            Some(url) => Some(parse_blobs(&url).map_err(|e| ConfigError {
                variable: "KCL_REPORTS",
                ..e
            })?),
        };
        if let Some(v) = get("KCL_LIST_CACHE_TTL_SECS") {
            let secs: u64 = v
                .parse()
                .ok()
                .filter(|s| *s <= 86_400)
                .ok_or_else(|| ConfigError {
                    variable: "KCL_LIST_CACHE_TTL_SECS",
                    value: v.clone(),
                    reason: "must be a number of seconds from 0 (off) to 86400".into(),
                })?;
            settings.list_cache_ttl = std::time::Duration::from_secs(secs);
        }
        let on_off = |var: &'static str, default: bool| match get(var).as_deref() {
            None => Ok(default),
            Some("on") | Some("1") | Some("true") => Ok(true),
            Some("off") | Some("0") | Some("false") => Ok(false),
            Some(other) => Err(ConfigError {
                variable: var,
                value: other.to_owned(),
                reason: "must be on or off".into(),
            }),
        };
        let jwt_secret = get("KCL_AUTH_JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(ConfigError {
                variable: "KCL_AUTH_JWT_SECRET",
                value: "***".into(),
                reason: "must be at least 32 bytes (try `openssl rand -base64 32`)".into(),
            });
        }
        let jwt_algorithm = get("KCL_AUTH_JWT_ALG").unwrap_or_else(|| "RS256".into());
        if ![
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
        ]
        .contains(&jwt_algorithm.as_str())
        {
            return Err(ConfigError {
                variable: "KCL_AUTH_JWT_ALG",
                value: jwt_algorithm,
                reason: "must be RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
                    .into(),
            });
        }
        let auth = AuthConfig {
            enabled: on_off("KCL_AUTH", true)?,
            jwt_secret,
            jwt_public_key: get("KCL_AUTH_JWT_PUBLIC_KEY").map(PathBuf::from),
            jwt_algorithm,
            jwt_issuer: get("KCL_AUTH_JWT_ISSUER"),
            jwt_audience: get("KCL_AUTH_JWT_AUDIENCE"),
            users_file: get("KCL_AUTH_USERS").map(PathBuf::from),
            public_reads: on_off("KCL_AUTH_PUBLIC_READS", false)?,
            session_secs: number("KCL_AUTH_SESSION_SECS", 60..=30 * 86_400)?.unwrap_or(43_200),
            secure_cookies: match get("KCL_AUTH_COOKIE_SECURE") {
                None => None,
                Some(_) => Some(on_off("KCL_AUTH_COOKIE_SECURE", true)?),
            },
        };
        let max_in_flight = number("KCL_HTTP_MAX_IN_FLIGHT", 1..=100_000)?.unwrap_or(512) as usize;
        let max_uploads = number("KCL_HTTP_MAX_UPLOADS", 1..=10_000)?.unwrap_or(8) as usize;
        match get("KCL_LOG_FORMAT").as_deref() {
            None | Some("text") | Some("json") => {}
            Some(other) => {
                return Err(ConfigError {
                    variable: "KCL_LOG_FORMAT",
                    value: other.to_owned(),
                    reason: "must be text or json".into(),
                })
            }
        }
        let trusted_proxies = parse_trusted_proxies(get("KCL_TRUSTED_PROXIES").as_deref())?;
        let metrics = on_off("KCL_METRICS", true)?;
        let metrics_token = get("KCL_METRICS_TOKEN");
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConfigError {
                variable: "KCL_METRICS_TOKEN",
                value: "***".into(),
                reason: "must be 16 or more visible ASCII characters (no spaces)".into(),
            });
        }
        Ok(Self {
            metrics,
            metrics_token,
            trusted_proxies,
            auth,
            max_in_flight,
            max_uploads,
            reports,
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
            database,
            blobs,
            queue,
        })
    }
}

/// The variables that hold secrets, each with its `_FILE` form.
pub const SECRET_VARIABLES: [(&str, &str); 4] = [
    ("KCL_AUTH_JWT_SECRET", "KCL_AUTH_JWT_SECRET_FILE"),
    ("KCL_DATABASE_URL", "KCL_DATABASE_URL_FILE"),
    ("KCL_CACHE_URL", "KCL_CACHE_URL_FILE"),
    ("KCL_METRICS_TOKEN", "KCL_METRICS_TOKEN_FILE"),
];

/// `vars` with every secret given as a `_FILE` read into its plain variable, or
/// `None` when no `_FILE` variable is set. Errors name the `_FILE` variable and
/// its path, never the file's contents.
fn read_secret_files(
    vars: &HashMap<String, String>,
) -> Result<Option<HashMap<String, String>>, ConfigError> {
    let set = |k: &str| vars.get(k).filter(|v| !v.trim().is_empty());
    let mut resolved: Option<HashMap<String, String>> = None;
    for (plain, file_var) in SECRET_VARIABLES {
        let Some(path) = set(file_var) else { continue };
        let err = |reason: String| ConfigError {
            variable: file_var,
            value: path.clone(),
            reason,
        };
        if set(plain).is_some() {
            return Err(err(format!("{plain} is set too: set one of the two")));
        }
        let bytes = std::fs::read(path.trim()).map_err(|e| err(format!("cannot read: {e}")))?;
        let mut text =
            String::from_utf8(bytes).map_err(|_| err("the file is not UTF-8 text".into()))?;
        // One trailing newline, as `echo` and editors leave it.
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.trim().is_empty() {
            return Err(err("the file is empty".into()));
        }
        resolved
            .get_or_insert_with(|| vars.clone())
            .insert(plain.to_owned(), text);
    }
    Ok(resolved)
}

/// A URL with its password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The static name of a known variable (for errors), or `KCL_*`.
fn known_variable(name: &str) -> &'static str {
    [
        "KCL_DATA_DIR",
        "KCL_HTTP_ADDR",
        "KCL_DATABASE_URL",
        "KCL_BLOBS",
        "KCL_QUEUE",
        "KCL_CACHE_URL",
        "KCL_CACHE_URL_FILE",
        "KCL_CACHE_CA_FILE",
        "KCL_DATABASE_URL_FILE",
        "KCL_AUTH_JWT_SECRET_FILE",
        "KCL_LIST_CACHE_TTL_SECS",
        "KCL_AUDIT",
        "KCL_STATUS",
        "KCL_AUTO_PROVISION",
        "KCL_THUMB_SIZE",
        "KCL_THUMB_STALE_SECS",
        "KCL_WORKER",
        "KCL_WORKER_CONCURRENCY",
        "KCL_WORKER_ADDR",
        "KCL_OCR_LANG",
        "KCL_OCR_PSM",
        "KCL_JOB_MAX_IMAGES",
        "KCL_JOB_RETENTION_SECS",
        "KCL_REPORTS",
        "KCL_SALES_PARQUET",
        "KCL_SALES_MAX_BYTES",
        "KCL_SPOOL_DIR",
        "KCL_AUTH",
        "KCL_AUTH_JWT_SECRET",
        "KCL_AUTH_JWT_PUBLIC_KEY",
        "KCL_AUTH_JWT_ALG",
        "KCL_AUTH_JWT_ISSUER",
        "KCL_AUTH_JWT_AUDIENCE",
        "KCL_AUTH_USERS",
        "KCL_AUTH_PUBLIC_READS",
        "KCL_AUTH_SESSION_SECS",
        "KCL_AUTH_COOKIE_SECURE",
        "KCL_HTTP_MAX_IN_FLIGHT",
        "KCL_HTTP_MAX_UPLOADS",
        "KCL_LOG_FORMAT",
        "KCL_METRICS",
        "KCL_METRICS_TOKEN",
        "KCL_METRICS_TOKEN_FILE",
        "KCL_TRUSTED_PROXIES",
    ]
    .into_iter()
    .find(|k| *k == name)
    .unwrap_or("KCL_*")
}

/// `KCL_TRUSTED_PROXIES`: CIDRs or bare addresses (`/32`, `/128`), separated by
/// commas or whitespace.
fn parse_trusted_proxies(list: Option<&str>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| ConfigError {
                    variable: "KCL_TRUSTED_PROXIES",
                    value: list.unwrap_or_default().to_owned(),
                    reason: format!(
                        "{e:?} is not a CIDR (such as 10.0.0.0/16 or 2001:db8::/32) or an IP address"
                    ),
                })
        })
        .collect()
}

fn parse_database(url: &str) -> Result<DatabaseConfig, ConfigError> {
    let err = |reason: String| ConfigError {
        variable: "KCL_DATABASE_URL",
        value: url.to_owned(),
        reason,
    };
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(err(
                "sqlite:// needs a file path, such as sqlite://./kcl-data/kcl.db".into(),
            ));
        }
        return Ok(DatabaseConfig::Sqlite(PathBuf::from(path)));
    }
    if url == "memory://" || url == "memory" {
        return Ok(DatabaseConfig::Memory);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseConfig::Postgres(url.to_owned()));
    }
    Err(err(
        "unsupported value (supported: sqlite://PATH, postgres://..., memory://)".into(),
    ))
}

fn parse_blobs(url: &str) -> Result<BlobsConfig, ConfigError> {
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(ConfigError {
                variable: "KCL_BLOBS",
                value: url.to_owned(),
                reason: "file:// needs a folder, such as file://./kcl-data/blobs".into(),
            });
        }
        return Ok(BlobsConfig::File(PathBuf::from(path)));
    }
    if url == "memory://" || url == "memory" {
        return Ok(BlobsConfig::Memory);
    }
    if url.starts_with("s3://") {
        return Ok(BlobsConfig::S3(url.to_owned()));
    }
    Err(ConfigError {
        variable: "KCL_BLOBS",
        value: url.to_owned(),
        reason: "unsupported value (supported: file://PATH, s3://bucket[/prefix], memory://)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_profile() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(
            c.database,
            DatabaseConfig::Sqlite("./kcl-data/kcl.db".into())
        );
        assert_eq!(c.blobs, BlobsConfig::File("./kcl-data/blobs".into()));
        assert_eq!(c.queue, QueueKind::Sqlite);
    }

    #[test]
    fn postgres_urls_choose_postgres_and_never_print_the_password() {
        let c = Config::from_vars(&vars(&[(
            "KCL_DATABASE_URL",
            "postgres://u:pw@db:5432/kcl",
        )]))
        .unwrap();
        assert_eq!(
            c.database,
            DatabaseConfig::Postgres("postgres://u:pw@db:5432/kcl".into())
        );
        assert_eq!(
            c.queue,
            QueueKind::Postgres,
            "a durable queue in the database, never a silent memory queue"
        );
        let c = Config::from_vars(&vars(&[("KCL_DATABASE_URL", "memory://")])).unwrap();
        assert_eq!(c.queue, QueueKind::Memory);
        let e = Config::from_vars(&vars(&[("KCL_QUEUE", "postgres")])).unwrap_err();
        assert_eq!(e.variable, "KCL_QUEUE", "no PostgreSQL database: {e}");
        let e = Config::from_vars(&vars(&[("KCL_DATABASE_URL", "mysql://u:secret@db/kcl")]))
            .unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("u:***@db"), "{e}");
    }

    #[test]
    fn secrets_come_from_files_without_ever_being_printed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::write(&db, "postgres://kcl:pa55word@db/kcl\n").unwrap();
        let jwt = dir.path().join("jwt");
        std::fs::write(&jwt, "0123456789abcdef0123456789abcdef\r\n").unwrap();
        let cache = dir.path().join("cache");
        std::fs::write(&cache, "rediss://:cachepw@cache:6379").unwrap();
        let c = Config::from_vars(&vars(&[
            ("KCL_DATABASE_URL_FILE", db.to_str().unwrap()),
            ("KCL_AUTH_JWT_SECRET_FILE", jwt.to_str().unwrap()),
            ("KCL_CACHE_URL_FILE", cache.to_str().unwrap()),
        ]))
        .unwrap();
        assert_eq!(
            c.database,
            DatabaseConfig::Postgres("postgres://kcl:pa55word@db/kcl".into()),
            "one trailing newline stripped"
        );
        assert_eq!(
            c.auth.jwt_secret.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(c.cache_url.as_deref(), Some("rediss://:cachepw@cache:6379"));
        let shown = format!("{c:?} {}", c.database.describe());
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("pa55word"), "{shown}");
        assert!(!shown.contains("cachepw"), "{shown}");
        assert!(c.database.describe().contains("kcl:***@db"));

        // Both forms: an error naming the _FILE variable.
        let e = Config::from_vars(&vars(&[
            ("KCL_DATABASE_URL_FILE", db.to_str().unwrap()),
            ("KCL_DATABASE_URL", "postgres://other/kcl"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "KCL_DATABASE_URL_FILE");
        // Unreadable or empty: an error naming the variable and the path only.
        let e = Config::from_vars(&vars(&[("KCL_AUTH_JWT_SECRET_FILE", "/nonexistent/jwt")]))
            .unwrap_err();
        assert_eq!(e.variable, "KCL_AUTH_JWT_SECRET_FILE");
        assert!(e.to_string().contains("/nonexistent/jwt"), "{e}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e = Config::from_vars(&vars(&[("KCL_CACHE_URL_FILE", empty.to_str().unwrap())]))
            .unwrap_err();
        assert_eq!(e.variable, "KCL_CACHE_URL_FILE");
        // A bad value read from a file is reported without the password.
        std::fs::write(&db, "mysql://kcl:pa55word@db/kcl\n").unwrap();
        let e = Config::from_vars(&vars(&[("KCL_DATABASE_URL_FILE", db.to_str().unwrap())]))
            .unwrap_err();
        assert_eq!(e.variable, "KCL_DATABASE_URL");
        assert!(!e.to_string().contains("pa55word"), "{e}");
        // A short secret from a file: refused without repeating it.
        std::fs::write(&jwt, "short-secret\n").unwrap();
        let e = Config::from_vars(&vars(&[(
            "KCL_AUTH_JWT_SECRET_FILE",
            jwt.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(!e.to_string().contains("short-secret"), "{e}");
    }

    #[test]
    fn a_cache_ca_needs_a_tls_cache_url() {
        let e = Config::from_vars(&vars(&[
            ("KCL_CACHE_URL", "redis://cache:6379"),
            ("KCL_CACHE_CA_FILE", "/etc/ca.pem"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "KCL_CACHE_CA_FILE");
        let c = Config::from_vars(&vars(&[
            ("KCL_CACHE_URL", "rediss://cache:6379"),
            ("KCL_CACHE_CA_FILE", "/etc/ca.pem"),
        ]))
        .unwrap();
        assert_eq!(c.cache_ca_file, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn the_aws_profile_is_chosen_by_urls() {
        let c = Config::from_vars(&vars(&[
            ("KCL_DATABASE_URL", "postgres://db/kcl"),
            ("KCL_BLOBS", "s3://media/kcl"),
            ("KCL_QUEUE", "sqs://kcl-tasks"),
            ("KCL_AUDIT", "dynamodb://kcl-audit"),
            ("KCL_AUTO_PROVISION", "1"),
        ]))
        .unwrap();
        assert_eq!(c.blobs, BlobsConfig::S3("s3://media/kcl".into()));
        assert_eq!(c.queue, QueueKind::Sqs("kcl-tasks".into()));
        assert_eq!(c.audit_table.as_deref(), Some("kcl-audit"));
        assert_eq!(
            c.status_table.as_deref(),
            Some("kcl-audit"),
            "status follows audit"
        );
        assert!(c.auto_provision);
        let c = Config::from_vars(&vars(&[
            ("KCL_AUDIT", "dynamodb://kcl-audit"),
            ("KCL_STATUS", "database"),
        ]))
        .unwrap();
        assert_eq!(c.status_table, None);
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        assert!(Config::from_vars(&vars(&[]))
            .unwrap()
            .trusted_proxies
            .is_empty());
        let c = Config::from_vars(&vars(&[(
            "KCL_TRUSTED_PROXIES",
            "10.0.0.0/16, 192.168.1.7\n2001:db8::/32 ::1",
        )]))
        .unwrap();
        let nets: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            nets,
            ["10.0.0.0/16", "192.168.1.7/32", "2001:db8::/32", "::1/128"]
        );
        let e = Config::from_vars(&vars(&[("KCL_TRUSTED_PROXIES", "10.0.0.0/8 alb")])).unwrap_err();
        assert!(e.to_string().contains("\"alb\" is not a CIDR"), "{e}");
    }

    #[test]
    fn the_metrics_token_comes_from_a_variable_or_a_file_and_is_never_shown() {
        assert_eq!(Config::from_vars(&vars(&[])).unwrap().metrics_token, None);
        let c = Config::from_vars(&vars(&[("KCL_METRICS_TOKEN", "scrape-me-0123456789")])).unwrap();
        assert_eq!(c.metrics_token.as_deref(), Some("scrape-me-0123456789"));
        assert!(!format!("{c:?}").contains("scrape-me"), "{c:?}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metrics-token");
        std::fs::write(&file, "from-a-file-0123456789\n").unwrap();
        let c = Config::from_vars(&vars(&[("KCL_METRICS_TOKEN_FILE", file.to_str().unwrap())]))
            .unwrap();
        assert_eq!(c.metrics_token.as_deref(), Some("from-a-file-0123456789"));
        let e = Config::from_vars(&vars(&[
            ("KCL_METRICS_TOKEN_FILE", file.to_str().unwrap()),
            ("KCL_METRICS_TOKEN", "scrape-me-0123456789"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "KCL_METRICS_TOKEN_FILE");
        for bad in ["short", "sixteen but spaced out"] {
            let e = Config::from_vars(&vars(&[("KCL_METRICS_TOKEN", bad)])).unwrap_err();
            assert_eq!(e.variable, "KCL_METRICS_TOKEN");
            assert!(!e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        for (k, v) in [
            ("KCL_HTTP_ADDR", "localhost"),
            ("KCL_DATABASE_URL", "mysql://x/y"),
            ("KCL_DATABASE_URL", "sqlite://"),
            ("KCL_BLOBS", "gs://bucket"),
            ("KCL_QUEUE", "sqs://"),
            ("KCL_QUEUE", "amqp://q"),
            ("KCL_AUDIT", "postgres://x"),
            ("KCL_STATUS", "dynamodb://"),
            ("KCL_AUTO_PROVISION", "yes"),
            ("KCL_THUMB_SIZE", "8"),
            ("KCL_THUMB_SIZE", "big"),
            ("KCL_THUMB_STALE_SECS", "5"),
            ("KCL_WORKER", "maybe"),
            ("KCL_WORKER_CONCURRENCY", "0"),
            ("KCL_WORKER_ADDR", "localhost"),
            ("KCL_OCR_LANG", "../eng"),
            ("KCL_OCR_PSM", "4"),
            ("KCL_OCR_PSM", "auto"),
            ("KCL_JOB_MAX_IMAGES", "0"),
            ("KCL_JOB_RETENTION_SECS", "1"),
            ("KCL_CACHE_URL", "memcached://127.0.0.1"),
            ("KCL_LIST_CACHE_TTL_SECS", "-1"),
            ("KCL_TRUSTED_PROXIES", "10.0.0.0/8, alb.internal"),
            ("KCL_TRUSTED_PROXIES", "10.0.0.0/33"),
        ] {
            let e = Config::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.variable, k, "{v}");
            assert!(e.to_string().starts_with(k));
        }
    }
}
