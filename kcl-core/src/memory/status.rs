use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{ProcessingStatus, StatusCondition, StatusStore, StatusStoreError};

/// Processing statuses in memory.
#[derive(Default)]
pub struct MemoryStatusStore {
    statuses: Mutex<HashMap<String, ProcessingStatus>>,
}

#[async_trait]
impl StatusStore for MemoryStatusStore {
    async fn get(&self, key: &str) -> Result<Option<ProcessingStatus>, StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        let map = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(key).cloned())
    }

    async fn put(
        &self,
        status: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, StatusStoreError> {
        ProcessingStatus::check_key(&status.key)?;
        let mut map = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        if !condition.allows(map.get(&status.key).map(|s| s.status)) {
            return Ok(false);
        }
        map.insert(status.key.clone(), status.clone());
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        let mut map = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
        Ok(())
    }
}
