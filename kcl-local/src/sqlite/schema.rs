//! KCL's schema in SQLite: its migrations, recorded in a table of KCL's own so that
//! a host's own sqlx migrations in the same file never meet them.

use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::sqlite::SqlitePool;

/// The table KCL records its applied migrations in.
const MIGRATIONS_TABLE: &str = "_kcl_migrations";

/// KCL's migrations, recorded in [`MIGRATIONS_TABLE`].
fn migrator() -> Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// Applies the pending migrations through the writer pool, after moving the
/// records of a file migrated before KCL had its own table.
pub(super) async fn migrate(write: &SqlitePool) -> Result<(), MigrateError> {
    let m = migrator();
    move_sqlx_records(write, &m).await?;
    m.run(write).await
}

/// A file KCL migrated before it had its own table has its records in sqlx's
/// default table `_sqlx_migrations`: they move to KCL's, in one write transaction,
/// so nothing is applied twice. Only when the first of KCL's migrations is there
/// with this version's checksum (the table is then KCL's, not a host's); other rows
/// stay, and the table is dropped if nothing is left in it.
async fn move_sqlx_records(write: &SqlitePool, m: &Migrator) -> Result<(), MigrateError> {
    let Some(first) = m.iter().next() else {
        return Ok(());
    };
    let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
    let exists = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)";
    let ours: bool = sqlx::query_scalar(exists)
        .bind(MIGRATIONS_TABLE)
        .fetch_one(&mut *tx)
        .await?;
    let theirs: bool = sqlx::query_scalar(exists)
        .bind("_sqlx_migrations")
        .fetch_one(&mut *tx)
        .await?;
    if ours || !theirs {
        return Ok(());
    }
    let kcl_first: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = ? AND checksum = ?)",
    )
    .bind(first.version)
    .bind(first.checksum.as_ref())
    .fetch_one(&mut *tx)
    .await?;
    if !kcl_first {
        return Ok(());
    }
    tx.ensure_migrations_table(MIGRATIONS_TABLE).await?;
    for migration in m.iter() {
        sqlx::query(
            "INSERT INTO _kcl_migrations
                 (version, description, installed_on, success, checksum, execution_time)
             SELECT version, description, installed_on, success, checksum, execution_time
             FROM _sqlx_migrations WHERE version = ? AND checksum = ?",
        )
        .bind(migration.version)
        .bind(migration.checksum.as_ref())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ? AND checksum = ?")
            .bind(migration.version)
            .bind(migration.checksum.as_ref())
            .execute(&mut *tx)
            .await?;
    }
    let left: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM _sqlx_migrations)")
        .fetch_one(&mut *tx)
        .await?;
    if !left {
        sqlx::query("DROP TABLE _sqlx_migrations")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(
        to = MIGRATIONS_TABLE,
        "KCL's migration records moved from _sqlx_migrations to its own table"
    );
    Ok(())
}
