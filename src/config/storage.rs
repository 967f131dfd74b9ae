//! Where data lives: the data folder, database, blobs, queue, cache, DynamoDB
//! tables and reports (`KCL_DATA_DIR`, `KCL_DATABASE_URL`, `KCL_BLOBS`,
//! `KCL_QUEUE`, `KCL_CACHE_URL`, `KCL_CACHE_CA_FILE`, `KCL_AUDIT`, `KCL_STATUS`,
//! `KCL_AUTO_PROVISION`, `KCL_REPORTS`, `KCL_SALES_INCOMING`).

use std::path::PathBuf;

use super::vars::{redact, Vars};
use super::{BlobsConfig, ConfigError, DatabaseConfig, QueueKind};

pub(super) struct Storage {
    pub(super) data_dir: PathBuf,
    pub(super) database: DatabaseConfig,
    pub(super) database_read_urls: Vec<String>,
    pub(super) database_max_connections: u32,
    pub(super) database_migrate: super::Migrate,
    pub(super) database_schema: Option<String>,
    pub(super) blobs: BlobsConfig,
    pub(super) queue: QueueKind,
    pub(super) cache_url: Option<String>,
    pub(super) cache_ca_file: Option<PathBuf>,
    pub(super) audit_table: Option<String>,
    pub(super) status_table: Option<String>,
    pub(super) auto_provision: bool,
    pub(super) reports: Option<BlobsConfig>,
    pub(super) sales_incoming: Option<String>,
}

pub(super) fn read(v: &Vars<'_>) -> Result<Storage, ConfigError> {
    let data_dir = PathBuf::from(v.get("KCL_DATA_DIR").unwrap_or_else(|| "./kcl-data".into()));
    let database = match v.get("KCL_DATABASE_URL") {
        None => DatabaseConfig::Sqlite(data_dir.join("kcl.db")),
        Some(url) => parse_database(&url).map_err(|e| ConfigError {
            value: redact(&e.value),
            ..e
        })?,
    };
    let database_read_urls = match v.get("KCL_DATABASE_READ_URL") {
        None => Vec::new(),
        Some(urls) => read_urls(&urls, &database)?,
    };
    let database_max_connections = match v.get("KCL_DATABASE_MAX_CONNECTIONS") {
        None => DEFAULT_MAX_CONNECTIONS,
        Some(n) => max_connections(&n, &database)?,
    };
    let database_migrate = match v.get("KCL_DATABASE_MIGRATE") {
        None => super::Migrate::Apply,
        Some(m) => migrate(&m, &database)?,
    };
    let database_schema = match v.get("KCL_DATABASE_SCHEMA") {
        None => None,
        Some(s) => Some(schema(&s, &database)?),
    };
    let blobs = match v.get("KCL_BLOBS") {
        None => BlobsConfig::File(data_dir.join("blobs")),
        Some(url) => parse_blobs(&url)?,
    };
    let queue = queue(v, &database)?;
    let cache_url = match v.get("KCL_CACHE_URL") {
        None => None,
        Some(c) if c == "memory" || c == "memory://" => None,
        Some(c) if c.starts_with("redis://") || c.starts_with("rediss://") => Some(c),
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
    let cache_ca_file = v.get("KCL_CACHE_CA_FILE").map(PathBuf::from);
    if cache_ca_file.is_some()
        && !cache_url
            .as_ref()
            .is_some_and(|u| u.starts_with("rediss://"))
    {
        return Err(ConfigError {
            variable: "KCL_CACHE_CA_FILE",
            value: v.get("KCL_CACHE_CA_FILE").unwrap_or_default(),
            reason: "needs a TLS cache: KCL_CACHE_URL=rediss://host:port".into(),
        });
    }
    let audit_table = v
        .get("KCL_AUDIT")
        .map(|t| table("KCL_AUDIT", t))
        .transpose()?
        .flatten();
    let status_table = match v.get("KCL_STATUS") {
        None => audit_table.clone(),
        Some(t) => table("KCL_STATUS", t)?,
    };
    let auto_provision = v.switch(
        "KCL_AUTO_PROVISION",
        false,
        "create missing buckets, queues and tables",
    )?;
    let reports = match v.get("KCL_REPORTS") {
        None => None,
        Some(url) => Some(parse_blobs(&url).map_err(|e| ConfigError {
            variable: "KCL_REPORTS",
            ..e
        })?),
    };
    let sales_incoming = match v.get("KCL_SALES_INCOMING") {
        None => None,
        Some(url)
            if url
                .strip_prefix("s3://")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')) =>
        {
            Some(url)
        }
        Some(url) => {
            return Err(ConfigError {
                variable: "KCL_SALES_INCOMING",
                value: url,
                reason: "must be s3://bucket[/prefix]: the bucket (and key prefix) where \
                         sales files arrive for the ingest function"
                    .into(),
            })
        }
    };
    Ok(Storage {
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
    })
}

/// `KCL_QUEUE`: the queue lives where the data does; memory only for a memory
/// database (nothing there survives a restart anyway) or when named.
fn queue(v: &Vars<'_>, database: &DatabaseConfig) -> Result<QueueKind, ConfigError> {
    let default_queue = match database {
        DatabaseConfig::Sqlite(_) => QueueKind::Sqlite,
        DatabaseConfig::Postgres(_) => QueueKind::Postgres,
        DatabaseConfig::Memory => QueueKind::Memory,
    };
    let queue = match v.get("KCL_QUEUE").as_deref() {
        None => default_queue,
        Some("sqlite") | Some("sqlite://") => QueueKind::Sqlite,
        Some("memory") | Some("memory://") => QueueKind::Memory,
        Some("postgres") | Some("postgres://") => QueueKind::Postgres,
        Some(q) if q.starts_with("sqs://") && q.len() > "sqs://".len() => {
            QueueKind::Sqs(q["sqs://".len()..].to_owned())
        }
        Some(other) => {
            return Err(ConfigError {
                variable: "KCL_QUEUE",
                value: other.to_owned(),
                reason: "unsupported value (supported: sqlite, postgres, \
                         sqs://<queue name or URL>, memory://)"
                    .into(),
            })
        }
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
    Ok(queue)
}

/// `dynamodb://<table>` (and, for `KCL_STATUS`, `database`: `None`).
fn table(variable: &'static str, v: String) -> Result<Option<String>, ConfigError> {
    match v.strip_prefix("dynamodb://") {
        Some(t) if !t.is_empty() => Ok(Some(t.to_owned())),
        _ if variable == "KCL_STATUS" && v == "database" => Ok(None),
        _ => Err(ConfigError {
            variable,
            value: v.clone(),
            reason: "unsupported value (supported: dynamodb://<table>)".into(),
        }),
    }
}

/// The PostgreSQL pool's size when `KCL_DATABASE_MAX_CONNECTIONS` is unset.
pub(super) const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// `KCL_DATABASE_MAX_CONNECTIONS`: 1 to 1000 connections to a PostgreSQL database
/// (each replica gets a pool of the same size).
fn max_connections(n: &str, database: &DatabaseConfig) -> Result<u32, ConfigError> {
    let err = |reason: &str| ConfigError {
        variable: "KCL_DATABASE_MAX_CONNECTIONS",
        value: n.to_owned(),
        reason: reason.into(),
    };
    if !matches!(database, DatabaseConfig::Postgres(_)) {
        return Err(err(
            "sizes a PostgreSQL pool; SQLite has one writer and 8 readers, memory:// none",
        ));
    }
    match n.trim().parse::<u32>() {
        Ok(n @ 1..=1000) => Ok(n),
        _ => Err(err("a number of connections from 1 to 1000")),
    }
}

/// `KCL_DATABASE_SCHEMA`: the PostgreSQL schema KCL's tables live in (a plain
/// lower-case name; created by the first migration when missing).
fn schema(s: &str, database: &DatabaseConfig) -> Result<String, ConfigError> {
    let err = |reason: &str| ConfigError {
        variable: "KCL_DATABASE_SCHEMA",
        value: s.to_owned(),
        reason: reason.into(),
    };
    let DatabaseConfig::Postgres(url) = database else {
        return Err(err(
            "a schema is for PostgreSQL (SQLite and memory:// have none)",
        ));
    };
    let ok = (1..=63).contains(&s.len())
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.starts_with("pg_");
    if !ok {
        return Err(err(
            "a schema name is 1 to 63 lower-case letters, digits and `_`, not starting with a digit or pg_",
        ));
    }
    if url.contains("options=") {
        return Err(err(
            "KCL_DATABASE_URL sets its own `options`: put `-c search_path=...` there instead",
        ));
    }
    Ok(s.to_owned())
}

/// `KCL_DATABASE_MIGRATE`: `apply` (the default) or `verify`, for PostgreSQL.
fn migrate(m: &str, database: &DatabaseConfig) -> Result<super::Migrate, ConfigError> {
    let err = |reason: &str| ConfigError {
        variable: "KCL_DATABASE_MIGRATE",
        value: m.to_owned(),
        reason: reason.into(),
    };
    let mode = match m.trim() {
        "apply" => super::Migrate::Apply,
        "verify" => super::Migrate::Verify,
        _ => return Err(err("unsupported value (supported: apply, verify)")),
    };
    if mode == super::Migrate::Verify && !matches!(database, DatabaseConfig::Postgres(_)) {
        return Err(err(
            "verify is for PostgreSQL; an embedded SQLite database is migrated when it is opened",
        ));
    }
    Ok(mode)
}

/// `KCL_DATABASE_READ_URL`: PostgreSQL URLs of read replicas, separated by commas
/// (a comma inside a URL is written `%2C`), for a PostgreSQL `KCL_DATABASE_URL`.
fn read_urls(urls: &str, database: &DatabaseConfig) -> Result<Vec<String>, ConfigError> {
    let err = |reason: String| ConfigError {
        variable: "KCL_DATABASE_READ_URL",
        value: urls.split(',').map(redact).collect::<Vec<_>>().join(","),
        reason,
    };
    if !matches!(database, DatabaseConfig::Postgres(_)) {
        return Err(err(
            "read replicas need a PostgreSQL KCL_DATABASE_URL (SQLite and memory:// have none)"
                .into(),
        ));
    }
    let list: Vec<String> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = list
        .iter()
        .find(|u| !(u.starts_with("postgres://") || u.starts_with("postgresql://")))
    {
        return Err(err(format!(
            "{} is not a PostgreSQL URL (postgres://user:password@host:port/database)",
            redact(bad)
        )));
    }
    if list.len() > 16 {
        return Err(err(format!("at most 16 replicas, not {}", list.len())));
    }
    Ok(list)
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
