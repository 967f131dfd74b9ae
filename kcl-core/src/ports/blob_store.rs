use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::ValidationError;
use crate::BoxError;

/// A blob key: a relative, `/`-separated path that cannot escape the store.
///
/// Refused: empty keys, keys over 1024 bytes, a leading `/`, `\`, NUL and other
/// control characters, and empty, `.` or `..` segments.
///
/// ```
/// use kcl_core::ports::BlobKey;
/// assert!(BlobKey::parse("uploads/42/cover.jpg").is_ok());
/// for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\0b", "a\\b"] {
///     assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BlobKey(String);

impl BlobKey {
    /// Longest key, in bytes (S3's limit).
    pub const MAX_BYTES: usize = 1024;

    /// Validates a key.
    pub fn parse(key: &str) -> Result<Self, ValidationError> {
        let bad = |msg: &str| Err(ValidationError::field("key", "bad-key", msg));
        if key.is_empty() {
            return bad("must not be empty");
        }
        if key.len() > Self::MAX_BYTES {
            return bad("must be at most 1024 bytes");
        }
        if key.starts_with('/') {
            return bad("must be relative");
        }
        if key.chars().any(|c| c.is_control() || c == '\\') {
            return bad("must not contain control characters or backslashes");
        }
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return bad("must not contain empty, . or .. segments");
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a store knows about a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobMeta {
    /// Where the blob is stored.
    pub key: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// Media type given at `put`.
    pub content_type: String,
    /// Last write.
    pub last_modified: DateTime<Utc>,
}

/// A blob's bytes and metadata.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Its key, size, media type and last write.
    pub meta: BlobMeta,
    /// The whole object, in memory.
    pub data: Bytes,
}

/// Why a [`BlobStore`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobStoreError {
    /// No blob at this key.
    #[error("blob {0} not found")]
    NotFound(BlobKey),
    /// The input is not acceptable (for example a content type with control characters).
    #[error("invalid blob request: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("blob store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("blob store failure: {0}")]
    Internal(#[source] BoxError),
}

/// Object storage: whole-object put and get, head, delete, list by prefix.
///
/// A `put` is atomic: readers see the old object or the new one, never a mix.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes (or replaces) a blob.
    async fn put(
        &self,
        key: &BlobKey,
        data: Bytes,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError>;

    /// Reads a blob.
    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobStoreError>;

    /// Reads a blob's metadata.
    async fn head(&self, key: &BlobKey) -> Result<BlobMeta, BlobStoreError>;

    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobStoreError>;

    /// Blobs whose key starts with `prefix`, in key order, at most `limit`.
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobMeta>, BlobStoreError>;

    /// Writes (or replaces) a blob from a local file. The default reads the file
    /// into memory and calls [`put`](Self::put); stores that can stream override it.
    async fn put_file(
        &self,
        key: &BlobKey,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        let data = tokio::fs::read(path).await.map_err(|e| {
            BlobStoreError::InvalidInput(format!("cannot read {}: {e}", path.display()))
        })?;
        self.put(key, Bytes::from(data), content_type).await
    }

    /// Copies a blob into a local file (created or truncated). The default reads the
    /// blob into memory with [`get`](Self::get); stores that can stream override it.
    async fn get_to_file(
        &self,
        key: &BlobKey,
        path: &std::path::Path,
    ) -> Result<BlobMeta, BlobStoreError> {
        let blob = self.get(key).await?;
        tokio::fs::write(path, &blob.data)
            .await
            .map_err(|e| BlobStoreError::Internal(Box::new(e)))?;
        Ok(blob.meta)
    }

    /// Where the blob lives as the outside world names it: `(bucket, object key)`.
    /// Stores without buckets answer `("local", key)`; S3 adds its key prefix.
    fn object_location(&self, key: &BlobKey) -> (String, String) {
        ("local".to_owned(), key.as_str().to_owned())
    }

    /// The blob key of an object named by `(bucket, object key)` (an S3 event's
    /// record), or `None` when it is not in this store (another bucket, outside the
    /// prefix, or not a valid key). The inverse of [`object_location`](Self::object_location).
    fn key_of(&self, bucket: &str, object_key: &str) -> Option<BlobKey> {
        if bucket != "local" {
            return None;
        }
        BlobKey::parse(object_key).ok()
    }

    /// A URL a browser can GET the blob from directly for `ttl` (a presigned S3 URL),
    /// or `None` when this store has no such URLs (then serve the bytes yourself).
    async fn presigned_get(
        &self,
        key: &BlobKey,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobStoreError> {
        let _ = (key, ttl);
        Ok(None)
    }
}

/// Checks a content type: printable ASCII, at most 255 bytes.
pub(crate) fn valid_content_type(ct: &str) -> bool {
    !ct.is_empty() && ct.len() <= 255 && ct.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Public for adapters: the same content-type rule everywhere.
impl BlobMeta {
    /// Whether `ct` is an acceptable content type.
    pub fn is_valid_content_type(ct: &str) -> bool {
        valid_content_type(ct)
    }
}
