//! Readiness of the PostgreSQL database.

use std::time::Duration;

use async_trait::async_trait;
use kcl_core::adapter_support::check_within;
use kcl_core::ports::HealthProbe;
use sqlx::PgPool;

use super::PgStore;

/// How long a check may take before the database counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// A [`HealthProbe`] named `database`: runs `SELECT 1` through the store's pool.
/// Fails once the store is [closed](PgStore::close) or the server does not answer.
#[derive(Debug, Clone)]
pub struct PgProbe {
    pool: PgPool,
}

impl PgProbe {
    /// A probe of `store`'s database.
    pub fn new(store: &PgStore) -> Self {
        Self {
            pool: store.pool().clone(),
        }
    }
}

#[async_trait]
impl HealthProbe for PgProbe {
    fn name(&self) -> &str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        check_within("PostgreSQL", CHECK_TIMEOUT, query).await
    }
}
