//! Readiness of the SQLite database.

use std::time::Duration;

use async_trait::async_trait;
use kcl_core::adapter_support::check_within;
use kcl_core::ports::HealthProbe;
use sqlx::SqlitePool;

use crate::SqliteStore;

/// How long a check may take before the database counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// A [`HealthProbe`] named `database`: reads the schema through the store's readers.
/// Fails once the store is [closed](SqliteStore::close).
#[derive(Debug, Clone)]
pub struct SqliteProbe {
    pool: SqlitePool,
}

impl SqliteProbe {
    /// A probe of `store`'s database.
    pub fn new(store: &SqliteStore) -> Self {
        Self {
            pool: store.pool().clone(),
        }
    }
}

#[async_trait]
impl HealthProbe for SqliteProbe {
    fn name(&self) -> &str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        // Reads the schema: a missing, unreadable or corrupt file fails, not just a
        // closed pool.
        let query = sqlx::query("SELECT count(*) FROM sqlite_schema").execute(&self.pool);
        check_within("SQLite", CHECK_TIMEOUT, query).await
    }
}
