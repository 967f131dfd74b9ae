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
    /// Connects to `url` (`redis://[:password@]host:port[/db]`).
    pub async fn connect(url: &str) -> Result<Self, AwsError> {
        let client = redis::Client::open(url)
            .map_err(|e| AwsError::Config(format!("bad Redis URL: {}", e.kind_text())))?;
        let conn = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
            .await
            .map_err(|_| AwsError::Config("Redis did not answer within 5 s".into()))?
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

fn check_key(key: &str) -> Result<(), CacheError> {
    if key.is_empty() || key.len() > 512 {
        return Err(CacheError::InvalidKey("a key has 1 to 512 bytes".into()));
    }
    Ok(())
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        check_key(key)?;
        let mut c = self.conn.clone();
        let v: Option<Vec<u8>> = self.run(c.get(key)).await?;
        Ok(v.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), CacheError> {
        check_key(key)?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut c = self.conn.clone();
        self.run(c.pset_ex::<_, _, ()>(key, value.as_ref(), millis))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        check_key(key)?;
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
