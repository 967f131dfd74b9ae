//! `kcl migrate`: brings the configured database's schema up to date, and nothing
//! else (no bucket, queue or table is touched).

use super::Error;
use crate::config::DatabaseConfig;
use crate::Config;

/// Runs `kcl migrate`: opens the database `KCL_DATABASE_URL` names (opening applies
/// the pending migrations; on PostgreSQL under an advisory lock, so concurrent starts
/// are safe), closes it, and says which database is up to date.
pub async fn run() -> Result<(), Error> {
    let config = Config::from_env()?;
    let described = config.database.describe();
    match &config.database {
        DatabaseConfig::Sqlite(path) => sqlite(path).await?,
        DatabaseConfig::Postgres(url) => postgres(url, config.database_schema.as_deref()).await?,
        DatabaseConfig::Memory => {
            return Err(
                "KCL_DATABASE_URL=memory://: an in-memory database has nothing to migrate".into(),
            )
        }
    }
    println!("{described}: the schema is up to date");
    Ok(())
}

#[cfg(feature = "local")]
async fn sqlite(path: &std::path::Path) -> Result<(), Error> {
    let store = kcl_local::SqliteStore::open(path)
        .await
        .map_err(|e| format!("KCL_DATABASE_URL: cannot open {}: {e}", path.display()))?;
    store.close().await;
    Ok(())
}

#[cfg(not(feature = "local"))]
async fn sqlite(_: &std::path::Path) -> Result<(), Error> {
    Err("KCL_DATABASE_URL: this build has no `local` feature for SQLite".into())
}

#[cfg(feature = "aws")]
async fn postgres(url: &str, schema: Option<&str>) -> Result<(), Error> {
    // In KCL_DATABASE_SCHEMA's schema when one is set, as the servers use it.
    let store = kcl_aws::PgStore::connect(&crate::runtime::in_schema(url, schema))
        .await
        .map_err(|e| format!("KCL_DATABASE_URL: cannot use the PostgreSQL server: {e}"))?;
    store.close().await;
    Ok(())
}

#[cfg(not(feature = "aws"))]
async fn postgres(_: &str, _: Option<&str>) -> Result<(), Error> {
    Err(
        "KCL_DATABASE_URL: this build has no `aws` feature for PostgreSQL \
         (cargo install ... --features cli,aws)"
            .into(),
    )
}
