use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::ports::{Cache, CacheError};

#[derive(Clone)]
struct Entry {
    value: Bytes,
    expires: Instant,
}

/// An in-process cache (moka, TinyLFU eviction), bounded in bytes, with per-entry TTL.
pub struct MemoryCache {
    inner: moka::sync::Cache<String, Entry>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::with_max_bytes(64 * 1024 * 1024)
    }
}

impl MemoryCache {
    /// A cache holding at most about `max_bytes` of keys and values.
    pub fn with_max_bytes(max_bytes: u64) -> Self {
        Self {
            inner: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, e: &Entry| {
                    u32::try_from(k.len() + e.value.len() + 64).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        CacheError::check_key(key)?;
        Ok(match self.inner.get(key) {
            Some(e) if e.expires > Instant::now() => Some(e.value),
            Some(_) => {
                self.inner.invalidate(key);
                None
            }
            None => None,
        })
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), CacheError> {
        CacheError::check_key(key)?;
        let expires = Instant::now() + ttl;
        self.inner.insert(key.to_owned(), Entry { value, expires });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        CacheError::check_key(key)?;
        self.inner.invalidate(key);
        Ok(())
    }
}
