use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;

use crate::ports::{Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError};

/// Blobs in memory, in key order.
#[derive(Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<BTreeMap<BlobKey, Blob>>,
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        data: Bytes,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        if !BlobMeta::is_valid_content_type(content_type) {
            return Err(BlobStoreError::InvalidInput("bad content type".into()));
        }
        let meta = BlobMeta {
            key: key.clone(),
            size: data.len() as u64,
            content_type: content_type.to_owned(),
            last_modified: Utc::now(),
        };
        self.blobs.lock().unwrap_or_else(|e| e.into_inner()).insert(
            key.clone(),
            Blob {
                meta: meta.clone(),
                data,
            },
        );
        Ok(meta)
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobStoreError> {
        self.blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .ok_or_else(|| BlobStoreError::NotFound(key.clone()))
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobMeta, BlobStoreError> {
        Ok(self.get(key).await?.meta)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobStoreError> {
        self.blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        Ok(self
            .blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|b| b.meta.key.as_str().starts_with(prefix))
            .take(limit)
            .map(|b| b.meta.clone())
            .collect())
    }
}
