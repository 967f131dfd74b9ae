//! KCL's schema on PostgreSQL: its migrations, recorded in a table of KCL's own so
//! that a host's own sqlx migrations on the same database never meet them.

use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::postgres::PgPool;

/// The table KCL records its applied migrations in.
pub(super) const MIGRATIONS_TABLE: &str = "_kcl_migrations";
/// sqlx's default table, where KCL recorded its migrations before it had its own.
const SQLX_TABLE: &str = "_sqlx_migrations";
/// The advisory lock the move from [`SQLX_TABLE`] runs under (sqlx's own lock key
/// is derived from the database name; this one is KCL's constant).
const MOVE_LOCK: i64 = 0x4b43_4c5f_6d69_6772;

/// KCL's migrations, recorded in [`MIGRATIONS_TABLE`].
pub(super) fn migrator() -> Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// Applies the pending migrations (under sqlx's advisory lock: concurrent starts are
/// safe), after moving the records of a database migrated before KCL had its own
/// table.
pub(super) async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    let m = migrator();
    create_own_schema(pool).await?;
    move_sqlx_records(pool, &m).await?;
    m.run(pool).await
}

/// Creates the first schema of the session's `search_path` when it does not exist
/// (`KCL_DATABASE_SCHEMA=kcl` puts `search_path=kcl` on KCL's connections: its
/// tables then live in a schema of their own, beside a host's in `public`).
async fn create_own_schema(pool: &PgPool) -> Result<(), MigrateError> {
    let current: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    if current.is_some() {
        return Ok(());
    }
    let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
        .fetch_one(pool)
        .await?;
    let first = path
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    // Only a plain name (what KCL_DATABASE_SCHEMA accepts); `$user` and quoted
    // oddities are left to the operator.
    if first.is_empty()
        || !first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Ok(());
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{first}\""
    )))
    .execute(pool)
    .await?;
    Ok(())
}

/// The versions of KCL's migrations this database lacks (empty: up to date). A
/// migration applied with other contents than this version's is an error.
pub(super) async fn pending(pool: &PgPool) -> Result<Vec<i64>, MigrateError> {
    let m = migrator();
    let mut conn = pool.acquire().await?;
    let applied = if exists(&mut conn, MIGRATIONS_TABLE).await? {
        conn.list_applied_migrations(MIGRATIONS_TABLE).await?
    } else {
        Vec::new()
    };
    let mut missing = Vec::new();
    for migration in m.iter().filter(|m| m.migration_type.is_up_migration()) {
        match applied.iter().find(|a| a.version == migration.version) {
            Some(a) if a.checksum != migration.checksum => {
                return Err(MigrateError::VersionMismatch(migration.version))
            }
            Some(_) => {}
            None => missing.push(migration.version),
        }
    }
    Ok(missing)
}

/// A database KCL migrated before it had its own table has its records in sqlx's
/// default table: they move to KCL's (in one transaction, under a lock, once), so
/// nothing is applied twice. The move happens only when the first of KCL's
/// migrations is there with this version's checksum: the table is then KCL's,
/// not a host's. Other rows (a host's own migrations) stay; the table is dropped if
/// nothing is left in it.
async fn move_sqlx_records(pool: &PgPool, m: &Migrator) -> Result<(), MigrateError> {
    let Some(first) = m.iter().next() else {
        return Ok(());
    };
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MOVE_LOCK)
        .execute(&mut *tx)
        .await?;
    if exists(&mut tx, MIGRATIONS_TABLE).await? || !exists(&mut tx, SQLX_TABLE).await? {
        return Ok(());
    }
    let ours: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = $1 AND checksum = $2)",
    )
    .bind(first.version)
    .bind(first.checksum.as_ref())
    .fetch_one(&mut *tx)
    .await?;
    if !ours {
        return Ok(());
    }
    tx.ensure_migrations_table(MIGRATIONS_TABLE).await?;
    let versions: Vec<i64> = m.iter().map(|m| m.version).collect();
    let checksums: Vec<Vec<u8>> = m.iter().map(|m| m.checksum.to_vec()).collect();
    sqlx::query(
        "WITH ours AS (
             DELETE FROM _sqlx_migrations s
             USING UNNEST($1::bigint[], $2::bytea[]) AS k(version, checksum)
             WHERE s.version = k.version AND s.checksum = k.checksum
             RETURNING s.*
         )
         INSERT INTO _kcl_migrations
             (version, description, installed_on, success, checksum, execution_time)
         SELECT version, description, installed_on, success, checksum, execution_time
         FROM ours",
    )
    .bind(&versions)
    .bind(&checksums)
    .execute(&mut *tx)
    .await?;
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
        from = SQLX_TABLE,
        to = MIGRATIONS_TABLE,
        "KCL's migration records moved to its own table"
    );
    Ok(())
}

/// Whether a table of this name is visible on the session's search path.
async fn exists(conn: &mut sqlx::PgConnection, table: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(conn)
        .await
}
