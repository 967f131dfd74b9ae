//! The [`Cache`] port on Redis: one cache shared by every server, so the catalog's
//! cache generation (see `docs/architecture.md`) is seen by all of them and no
//! server serves a book or a listing older than a write another one acknowledged.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use kcl_core::ports::{Cache, CacheError, HealthProbe};
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use crate::AwsError;

/// How long one cache command may take before it counts as unavailable (the
/// services then read the source of truth).
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// A [`Cache`] on a Redis server (`redis://host:port/db`), reconnecting by itself.
///
/// Also a [`HealthProbe`] named `cache`, not critical: the services work without
/// the cache, only slower.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache").finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects to `url`: `redis://[:password@]host:port[/db]`, or `rediss://` for
    /// TLS verified against the system's public roots (ElastiCache with in-transit
    /// encryption). The first connection is made here, so a wrong address, password
    /// or certificate fails now, with the reason (never the password).
    pub async fn connect(url: &str) -> Result<Self, AwsError> {
        let client = redis::Client::open(url)
            .map_err(|e| AwsError::Config(format!("bad Redis URL: {}", e.kind_text())))?;
        Self::start(client, url).await
    }

    /// Like [`connect`](Self::connect), with TLS (`rediss://` only) verified
    /// against the CA certificates in the PEM file `ca_file` instead of the public
    /// roots: a private CA, or a self-managed Redis.
    pub async fn connect_with_ca(url: &str, ca_file: &std::path::Path) -> Result<Self, AwsError> {
        if !url.starts_with("rediss://") {
            return Err(AwsError::Config(
                "a CA file needs a TLS URL (rediss://host:port)".into(),
            ));
        }
        let root_cert = Some(crate::tls::read_ca_file("Redis", ca_file)?);
        let client = redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert,
            },
        )
        .map_err(|e| AwsError::Config(format!("bad Redis URL or CA: {}", e.kind_text())))?;
        Self::start(client, url).await
    }

    async fn start(client: redis::Client, url: &str) -> Result<Self, AwsError> {
        crate::tls::install_crypto_provider();
        let limit = Duration::from_secs(5);
        // One plain connection first: the connection manager retries a failed
        // handshake by itself, which would hide why it failed.
        let mut probe = tokio::time::timeout(limit, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| AwsError::Unreachable("Redis did not answer within 5 s".into()))?
            .map_err(|e| AwsError::Unreachable(redacted(&e, url)))?;
        tokio::time::timeout(limit, redis::cmd("PING").query_async::<String>(&mut probe))
            .await
            .map_err(|_| AwsError::Unreachable("Redis did not answer PING within 5 s".into()))?
            .map_err(|e| AwsError::Unreachable(redacted(&e, url)))?;
        drop(probe);
        let conn = tokio::time::timeout(limit, client.get_connection_manager())
            .await
            .map_err(|_| AwsError::Unreachable("Redis did not answer within 5 s".into()))?
            .map_err(AwsError::RedisConnect)?;
        Ok(Self { conn })
    }

    async fn run<T>(
        &self,
        f: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {
                Err(CacheError::Unavailable(Box::new(e)))
            }
            Ok(Err(e)) => Err(CacheError::Internal(Box::new(e))),
            Err(_) => Err(CacheError::Unavailable(
                format!("Redis did not answer within {COMMAND_TIMEOUT:?}").into(),
            )),
        }
    }
}

trait KindText {
    fn kind_text(&self) -> String;
}

impl KindText for redis::RedisError {
    /// The error without the URL (which may hold a password).
    fn kind_text(&self) -> String {
        format!("{:?}", self.kind())
    }
}

/// Why a connection failed, without the URL's password even if a message repeats it.
fn redacted(e: &redis::RedisError, url: &str) -> String {
    let mut text = format!("cannot connect to Redis: {e}");
    if let Some(password) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
        .filter(|p| !p.is_empty())
    {
        text = text.replace(&password, "***");
    }
    text
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        CacheError::check_key(key)?;
        let mut c = self.conn.clone();
        let v: Option<Vec<u8>> = self.run(c.get(key)).await?;
        Ok(v.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), CacheError> {
        CacheError::check_key(key)?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut c = self.conn.clone();
        self.run(c.pset_ex::<_, _, ()>(key, value.as_ref(), millis))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        CacheError::check_key(key)?;
        let mut c = self.conn.clone();
        self.run(c.del::<_, ()>(key)).await
    }
}

#[async_trait]
impl HealthProbe for RedisCache {
    fn name(&self) -> &str {
        "cache"
    }

    fn critical(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<(), String> {
        let mut c = self.conn.clone();
        self.run(redis::cmd("PING").query_async::<String>(&mut c))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
