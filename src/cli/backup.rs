//! `kcl backup DIR` and `kcl restore DIR`: the embedded profile's backups (the
//! SQLite database, the blob folder and `auth.json`), made while the server runs and
//! restored while it is stopped. The work is [`kcl_local::backup`]'s; see there what
//! a backup holds and why it is consistent. The AWS profile's data is backed up by
//! PostgreSQL, S3 and DynamoDB themselves (`docs/operations.md`, "Backups").

use std::path::PathBuf;
#[cfg(feature = "local")]
use std::time::Instant;

use clap::Args;

use super::Error;
use crate::config::{BlobsConfig, DatabaseConfig};
use crate::Config;

/// The data dir's state file a backup carries besides the database and blobs.
#[cfg(feature = "local")]
const STATE_FILES: &[&str] = &["auth.json"];

/// Arguments of `kcl backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The folder to write the backup into: a new folder, or an empty one.
    pub dir: PathBuf,
}

/// Arguments of `kcl restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A folder written by `kcl backup`.
    pub dir: PathBuf,
    /// Replace the data already in the configured data dir (stop the server and
    /// workers first).
    #[arg(long)]
    pub force: bool,
}

/// Runs `kcl backup DIR`: copies the configured SQLite database (`VACUUM INTO`),
/// then the blob folder and `auth.json`, into `DIR` with a manifest, and says what
/// it copied. Safe while the server runs.
#[cfg(feature = "local")]
pub async fn backup(args: BackupArgs) -> Result<(), Error> {
    let config = Config::from_env()?;
    let (database, blobs) = embedded(&config, "back up")?;
    let sources = kcl_local::backup::Sources {
        database,
        blobs,
        files: STATE_FILES
            .iter()
            .map(|f| config.data_dir.join(f))
            .collect(),
    };
    let started = Instant::now();
    let manifest = kcl_local::backup::backup(&sources, &args.dir).await?;
    println!(
        "backed up {} into {} in {:.1} s",
        summary(&manifest),
        args.dir.display(),
        started.elapsed().as_secs_f64()
    );
    if !manifest.missing_blobs.is_empty() {
        eprintln!(
            "kcl: warning: the database references {} blob(s) missing from {} (first: {}); \
             they are listed in the manifest's missing_blobs",
            manifest.missing_blobs.len(),
            sources.blobs.display(),
            manifest.missing_blobs[0]
        );
    }
    Ok(())
}

/// Runs `kcl restore DIR [--force]`: checks the backup in `DIR` (manifest,
/// integrity, rows, blobs) and puts it in place of the configured database, blob
/// folder and `auth.json`.
#[cfg(feature = "local")]
pub async fn restore(args: RestoreArgs) -> Result<(), Error> {
    let config = Config::from_env()?;
    let (database, blobs) = embedded(&config, "restore")?;
    let targets = kcl_local::backup::Targets {
        database,
        blobs,
        files_dir: config.data_dir.clone(),
    };
    let started = Instant::now();
    let manifest = kcl_local::backup::restore(&args.dir, &targets, args.force).await?;
    println!(
        "restored {} (backed up {} by kcl {}) into {} in {:.1} s",
        summary(&manifest),
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        manifest.kcl_version,
        config.data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(feature = "local")]
fn summary(m: &kcl_local::backup::Manifest) -> String {
    let rows = |t: &str| m.database.tables.get(t).copied().unwrap_or(0);
    format!(
        "{} books, {} rentals, {} audit events, {} blobs ({} bytes), database {} bytes",
        rows("books"),
        rows("rentals"),
        rows("audit_events"),
        m.blobs.objects,
        m.blobs.bytes,
        m.database.bytes
    )
}

/// Runs `kcl backup DIR` in a build without the `local` feature: says so.
#[cfg(not(feature = "local"))]
pub async fn backup(_: BackupArgs) -> Result<(), Error> {
    embedded(&Config::from_env()?, "back up")?;
    Err(NO_LOCAL.into())
}

/// Runs `kcl restore DIR` in a build without the `local` feature: says so.
#[cfg(not(feature = "local"))]
pub async fn restore(_: RestoreArgs) -> Result<(), Error> {
    embedded(&Config::from_env()?, "restore")?;
    Err(NO_LOCAL.into())
}

#[cfg(not(feature = "local"))]
const NO_LOCAL: &str = "this build has no `local` feature for the embedded profile's SQLite \
                        database and blob folder";

/// The SQLite file and the blob folder of the embedded profile; anything else is
/// backed up by its own service.
fn embedded(config: &Config, verb: &str) -> Result<(PathBuf, PathBuf), Error> {
    let elsewhere = |what: &str| -> Error {
        format!(
            "{what}: `kcl backup` and `kcl restore` handle the embedded profile only \
             (a SQLite database and a blob folder); {verb} PostgreSQL, S3 and DynamoDB \
             with their own backups (RDS snapshots and point-in-time recovery or pg_dump, \
             S3 versioning and replication, DynamoDB point-in-time recovery): see \
             docs/operations.md, \"Backups\""
        )
        .into()
    };
    let database = match &config.database {
        DatabaseConfig::Sqlite(path) => path.clone(),
        DatabaseConfig::Postgres(_) => {
            return Err(elsewhere("KCL_DATABASE_URL is a PostgreSQL database"))
        }
        DatabaseConfig::Memory => {
            return Err(format!(
                "KCL_DATABASE_URL=memory://: an in-memory database has nothing to {verb}"
            )
            .into())
        }
    };
    let blobs = match &config.blobs {
        BlobsConfig::File(path) => path.clone(),
        BlobsConfig::S3(_) => return Err(elsewhere("KCL_BLOBS is an S3 bucket")),
        BlobsConfig::Memory => {
            return Err(format!(
                "KCL_BLOBS=memory://: blobs kept in memory cannot be {}",
                if verb == "restore" {
                    "restored"
                } else {
                    "backed up"
                }
            )
            .into())
        }
    };
    if config.audit_table.is_some() || config.status_table.is_some() {
        return Err(elsewhere(
            "KCL_AUDIT or KCL_STATUS is a DynamoDB table (the audit log or statuses are not in the SQLite database)",
        ));
    }
    Ok((database, blobs))
}
