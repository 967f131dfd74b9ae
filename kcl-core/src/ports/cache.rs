use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::BoxError;

/// Why a [`Cache`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The key is not acceptable (empty, too long).
    #[error("invalid cache key: {0}")]
    InvalidKey(String),
    /// The cache cannot be reached; callers fall back to the source of truth.
    #[error("cache unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("cache failure: {0}")]
    Internal(#[source] BoxError),
}

impl CacheError {
    /// Refuses a key no cache takes: a key has 1 to 512 bytes.
    pub fn check_key(key: &str) -> Result<(), CacheError> {
        if key.is_empty() || key.len() > 512 {
            return Err(CacheError::InvalidKey("a key has 1 to 512 bytes".into()));
        }
        Ok(())
    }
}

/// A key-value cache with time-to-live. Losing entries is always allowed;
/// serving an entry after `delete` returned is not.
#[async_trait]
pub trait Cache: Send + Sync {
    /// Reads a live entry.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError>;
    /// Writes an entry that lives at most `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), CacheError>;
    /// Removes an entry (no error if absent).
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
}
