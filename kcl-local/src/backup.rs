//! Backups of the embedded profile: a consistent copy of a running server's SQLite
//! database and blob folder, and their restore (what `kcl backup` and `kcl restore`
//! run).
//!
//! A backup is a folder:
//!
//! ```text
//! backup.json   the manifest (KCL version, time, rows per table, blob count),
//!               written last: a folder without it is not a backup
//! kcl.db        the database, copied with `VACUUM INTO` (one read transaction)
//! blobs/        the blob folder's files (objects/ and meta/; not tmp/)
//! files/        the data dir's state files (auth.json)
//! ```
//!
//! Files are created `0600` and folders `0700`, like the data dir.
//!
//! # Consistency
//!
//! The database is copied first, as one snapshot, then the blobs. The services write
//! a blob *before* the commit that references it (a cover, a thumbnail, an OCR
//! image), so every blob the snapshot references existed when it was taken. They
//! delete a blob only *after* the commit that stops referencing it (a deleted book,
//! a replaced cover, a deleted OCR job, and the undo of an upload whose task could
//! not be queued); such a delete can still land while the blobs are being copied,
//! and then the snapshot references a file the copy lacks. So the copy is checked:
//! every blob key the copied database references (`books.cover_key`,
//! `books.thumb_key`, `ocr_items.key`) must be in the copied folder. When one is
//! not, the database is copied again and the blobs not yet copied are added (a
//! newer snapshot no longer references a blob deleted after a commit). Keys still
//! missing after a retry that found no new ones are missing from the live folder
//! too: they are listed in the manifest's `missing_blobs` and the backup succeeds
//! (it copies what there is). After [`ATTEMPTS`] snapshots that each found newly
//! deleted blobs it fails with [`BackupError::KeptChanging`].
//!
//! Derived files are copied as they are, not checked: the Parquet copies of sales
//! files (written after the load commits, rewritten by a later load) and sales
//! reports.
//!
//! A restore checks everything before it puts anything in place (manifest, `PRAGMA
//! integrity_check` and `foreign_key_check`, rows per table, blob count and bytes,
//! every referenced blob present), builds the new data in a `.kcl-restore-*`
//! folder beside each target and renames it in, the database last; a failure
//! before that leaves the targets untouched, and one during the renames puts the
//! old files back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

/// The manifest's file name in a backup folder.
pub const MANIFEST_FILE: &str = "backup.json";
/// The database's file name in a backup folder.
pub const DATABASE_FILE: &str = "kcl.db";
/// The blob folder's name in a backup folder.
pub const BLOBS_FOLDER: &str = "blobs";
/// The folder of the data dir's state files in a backup folder.
pub const FILES_FOLDER: &str = "files";
/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;
/// Database snapshots a backup takes at most while blobs keep being deleted.
pub const ATTEMPTS: u32 = 5;

/// The blob folder's subfolder of files being written: never copied.
const BLOB_TMP: &str = "tmp";
/// How long a statement waits for the live database's locks.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Every column holding a blob key (keep in step with the migrations).
const REFERENCED_BLOBS: &str = "SELECT cover_key FROM books WHERE cover_key IS NOT NULL \
     UNION SELECT thumb_key FROM books WHERE thumb_key IS NOT NULL \
     UNION SELECT key FROM ocr_items";

/// What a backup copies: the live data of the embedded profile.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The SQLite database file (`KCL_DATABASE_URL`, by default `$KCL_DATA_DIR/kcl.db`).
    pub database: PathBuf,
    /// The blob folder (`KCL_BLOBS`, by default `$KCL_DATA_DIR/blobs`).
    pub blobs: PathBuf,
    /// State files copied by name when they exist (`$KCL_DATA_DIR/auth.json`).
    pub files: Vec<PathBuf>,
}

/// Where a restore puts the data.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The SQLite database file.
    pub database: PathBuf,
    /// The blob folder.
    pub blobs: PathBuf,
    /// The folder the backup's state files go to (`KCL_DATA_DIR`).
    pub files_dir: PathBuf,
}

/// `backup.json`: what a backup holds, checked by a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format ([`FORMAT`]).
    pub format: u32,
    /// The KCL version that made the backup.
    pub kcl_version: String,
    /// When the backup finished.
    pub created_at: DateTime<Utc>,
    /// The database copy.
    pub database: DatabaseSummary,
    /// The blob folder copy.
    pub blobs: BlobsSummary,
    /// The state files copied, by name (under `files/`).
    pub files: Vec<String>,
    /// Blob keys the database references that were missing from the live blob
    /// folder (normally empty).
    pub missing_blobs: Vec<String>,
}

/// The database part of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSummary {
    /// The copy's size in bytes.
    pub bytes: u64,
    /// The copy's SHA-256, in hex: catches a change `PRAGMA integrity_check` cannot
    /// see (inside a row).
    pub sha256: String,
    /// The highest migration applied.
    pub schema_version: i64,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
}

/// The blob part of a [`Manifest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsSummary {
    /// Blobs (files under `objects/`).
    pub objects: u64,
    /// Every file copied (blobs and their metadata).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Why a backup or a restore failed. Nothing is left half-done: a failed backup
/// removes what it wrote, a failed restore leaves the targets as they were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The backup folder exists and holds something.
    #[error("{0} exists and is not empty: back up into a new or empty folder")]
    NotEmpty(PathBuf),
    /// There is no database to back up.
    #[error("no database at {0}: nothing to back up")]
    NoDatabase(PathBuf),
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A database could not be opened or read.
    #[error("{path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// Blobs kept being deleted faster than the copy could catch up.
    #[error(
        "blobs kept being deleted while they were copied ({missing} the database \
         references after {ATTEMPTS} snapshots): run the backup again"
    )]
    KeptChanging {
        /// Blobs missing from the last attempt.
        missing: usize,
    },
    /// The manifest is missing or unreadable.
    #[error("{path}: not a usable backup manifest: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The backup's contents differ from its manifest.
    #[error("{path} does not match the backup's manifest: {reason}")]
    Mismatch {
        /// The file or folder at fault.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A database fails its integrity checks.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// The checks' first findings.
        reason: String,
    },
    /// The backup's schema is newer than this build's migrations.
    #[error(
        "the backup's database schema is at version {backup}, newer than this kcl knows \
         ({known}): restore it with kcl {kcl_version}"
    )]
    NewerSchema {
        /// The backup's schema version.
        backup: i64,
        /// This build's latest migration.
        known: i64,
        /// The version that made the backup.
        kcl_version: String,
    },
    /// A restore target already holds data and `force` was not given.
    #[error(
        "{0} already holds data: restore with --force to replace it (stop the server and \
         workers first)"
    )]
    HasData(PathBuf),
    /// The target database is open in another process.
    #[error(
        "{0} is open in another process (a running server or worker): stop it before \
         restoring"
    )]
    InUse(PathBuf),
}

impl BackupError {
    /// The same error with paths under a `from` folder shown under its `to`.
    fn naming(self, renames: &[(&Path, &Path)]) -> Self {
        let rename = |path: PathBuf| {
            for (from, to) in renames {
                if let Ok(rest) = path.strip_prefix(from) {
                    return if rest.as_os_str().is_empty() {
                        to.to_path_buf()
                    } else {
                        to.join(rest)
                    };
                }
            }
            path
        };
        match self {
            Self::Io {
                action,
                path,
                source,
            } => Self::Io {
                action,
                path: rename(path),
                source,
            },
            Self::Database { path, source } => Self::Database {
                path: rename(path),
                source,
            },
            Self::Mismatch { path, reason } => Self::Mismatch {
                path: rename(path),
                reason,
            },
            Self::Damaged { path, reason } => Self::Damaged {
                path: rename(path),
                reason,
            },
            other => other,
        }
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn db_err(path: &Path) -> impl FnOnce(sqlx::Error) -> BackupError + '_ {
    move |source| BackupError::Database {
        path: path.to_owned(),
        source,
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(BackupError::Io {
            action: "finish",
            path: PathBuf::new(),
            source: io::Error::other(e.to_string()),
        })
    })
}

/// The highest migration version this build applies.
pub fn latest_schema_version() -> i64 {
    sqlx::migrate!("./migrations")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Backs up the live data of `sources` into `dir` (created if missing; refused
/// unless empty) while the server may be running, and returns the manifest it
/// wrote. See the [module documentation](self) for what is consistent.
pub async fn backup(sources: &Sources, dir: &Path) -> Result<Manifest, BackupError> {
    backup_with(sources, dir, &|_| {}).await
}

/// A moment of a backup's attempt (numbered from 1), where tests write and delete
/// as a concurrent writer would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// The database was copied; the blobs are not yet.
    Snapshot(u32),
    /// The blobs were copied; the references are not yet checked.
    Copied(u32),
}

/// What a backup calls at each [`Moment`].
type AtMoment<'a> = &'a (dyn Fn(Moment) + Sync);

async fn backup_with(
    sources: &Sources,
    dir: &Path,
    at: AtMoment<'_>,
) -> Result<Manifest, BackupError> {
    match fs::metadata(&sources.database) {
        Ok(m) if m.is_file() => {}
        _ => return Err(BackupError::NoDatabase(sources.database.clone())),
    }
    let created = {
        let dir = dir.to_owned();
        blocking(move || prepare_backup_dir(&dir)).await?
    };
    let result = write_backup(sources, dir, at).await;
    if result.is_err() {
        // The folder was empty or absent: take back everything in it.
        let dir = dir.to_owned();
        let _ = tokio::task::spawn_blocking(move || {
            if created {
                let _ = fs::remove_dir_all(&dir);
            } else if let Ok(entries) = fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let _ = remove_any(&e.path());
                }
            }
        })
        .await;
    }
    result
}

/// Creates `dir` (0700) or checks that it is an empty folder; true when created.
fn prepare_backup_dir(dir: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_owned()));
            }
            Ok(false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            create_private_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            Err(BackupError::NotEmpty(dir.to_owned()))
        }
        Err(e) => Err(io_err("read", dir)(e)),
    }
}

async fn write_backup(
    sources: &Sources,
    dir: &Path,
    at: AtMoment<'_>,
) -> Result<Manifest, BackupError> {
    let db_copy = dir.join(DATABASE_FILE);
    let blobs_copy = dir.join(BLOBS_FOLDER);
    create_private_dir(&blobs_copy)?;
    let mut previous: Option<BTreeSet<String>> = None;
    let mut attempt = 1;
    let missing = loop {
        remove_if_present(&db_copy)?;
        snapshot(&sources.database, &db_copy).await?;
        at(Moment::Snapshot(attempt));
        let (src, dst) = (sources.blobs.clone(), blobs_copy.clone());
        blocking(move || copy_blob_folder(&src, &dst)).await?;
        at(Moment::Copied(attempt));
        let referenced = referenced_blobs(&db_copy).await?;
        let dst = blobs_copy.clone();
        let missing = blocking(move || {
            Ok(referenced
                .into_iter()
                .filter(|k| !blob_exists(&dst, k))
                .collect::<BTreeSet<_>>())
        })
        .await?;
        // Done when nothing is missing, or when nothing newly went missing: what is
        // left is missing from the live folder too, not deleted meanwhile.
        if missing.is_empty() || previous.as_ref().is_some_and(|p| missing.is_subset(p)) {
            break missing;
        }
        if attempt >= ATTEMPTS {
            return Err(BackupError::KeptChanging {
                missing: missing.len(),
            });
        }
        tracing::info!(
            missing = missing.len(),
            attempt,
            "blobs were deleted while they were copied: taking the database again"
        );
        previous = Some(missing);
        attempt += 1;
    };
    check_database(&db_copy).await?;
    let files = {
        let (files, dst) = (sources.files.clone(), dir.join(FILES_FOLDER));
        blocking(move || copy_state_files(&files, &dst)).await?
    };
    let database = summarize_database(&db_copy).await?;
    let blobs = {
        let dst = blobs_copy.clone();
        blocking(move || count_blobs(&dst)).await?
    };
    let manifest = Manifest {
        format: FORMAT,
        kcl_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: Utc::now(),
        database,
        blobs,
        files,
        missing_blobs: missing.into_iter().collect(),
    };
    if !manifest.missing_blobs.is_empty() {
        tracing::warn!(
            missing = manifest.missing_blobs.len(),
            "the database references blobs missing from the live blob folder; the backup lists them in missing_blobs"
        );
    }
    let (dir, m) = (dir.to_owned(), manifest.clone());
    blocking(move || write_manifest(&dir, &m)).await?;
    Ok(manifest)
}

/// A connection to a live database: creates nothing, migrates nothing.
async fn open_live(path: &Path) -> Result<SqliteConnection, BackupError> {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .connect()
        .await
        .map_err(db_err(path))
}

/// A read-only connection to a copy no one writes (no lock, no `-wal` or `-shm`).
async fn open_copy(path: &Path) -> Result<SqliteConnection, BackupError> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
        .map_err(|e| damaged_or(path, e))
}

/// "file is not a database" and its kind are damage, not an I/O failure.
fn damaged_or(path: &Path, e: sqlx::Error) -> BackupError {
    let text = e.to_string();
    if text.contains("not a database") || text.contains("malformed") || text.contains("corrupt") {
        BackupError::Damaged {
            path: path.to_owned(),
            reason: text,
        }
    } else {
        db_err(path)(e)
    }
}

/// `VACUUM INTO`: a consistent copy of `src` (one read transaction) into `dest`, a
/// new `0600` file.
async fn snapshot(src: &Path, dest: &Path) -> Result<(), BackupError> {
    let target = std::path::absolute(dest).map_err(io_err("resolve", dest))?;
    let Some(target_text) = target.to_str() else {
        return Err(BackupError::Io {
            action: "use",
            path: target.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path is not UTF-8"),
        });
    };
    // VACUUM INTO fills an empty file: created first, with the mode it keeps.
    create_private_file(&target)?;
    let mut conn = open_live(src).await?;
    let copied = sqlx::query("VACUUM INTO ?1")
        .bind(target_text)
        .execute(&mut conn)
        .await
        .map_err(db_err(src));
    let _ = conn.close().await;
    copied?;
    sync_file(&target)
}

/// Every blob key the database at `path` (a copy) references.
async fn referenced_blobs(path: &Path) -> Result<Vec<String>, BackupError> {
    let mut conn = open_copy(path).await?;
    let keys: Result<Vec<String>, _> = sqlx::query_scalar(REFERENCED_BLOBS)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| damaged_or(path, e));
    let _ = conn.close().await;
    keys
}

/// `PRAGMA integrity_check` and `foreign_key_check` on a copy.
async fn check_database(path: &Path) -> Result<(), BackupError> {
    let mut conn = open_copy(path).await?;
    let result = async {
        let findings: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| damaged_or(path, e))?;
        if findings != ["ok"] {
            return Err(BackupError::Damaged {
                path: path.to_owned(),
                reason: findings.into_iter().take(3).collect::<Vec<_>>().join("; "),
            });
        }
        let orphans: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut conn)
                .await
                .map_err(|e| damaged_or(path, e))?;
        if let Some((table,)) = orphans.first() {
            return Err(BackupError::Damaged {
                path: path.to_owned(),
                reason: format!(
                    "{} row(s) break a foreign key (first in table {table})",
                    orphans.len()
                ),
            });
        }
        Ok(())
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Size, checksum, schema version and rows per table of a copy.
async fn summarize_database(path: &Path) -> Result<DatabaseSummary, BackupError> {
    let (bytes, sha256) = {
        let path = path.to_owned();
        blocking(move || {
            let mut file = File::open(&path).map_err(io_err("read", &path))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0; 64 * 1024];
            let mut bytes = 0u64;
            loop {
                let n = io::Read::read(&mut file, &mut buf).map_err(io_err("read", &path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                bytes += n as u64;
            }
            Ok((bytes, hex::encode(hasher.finalize())))
        })
        .await?
    };
    let mut conn = open_copy(path).await?;
    let result = async {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM pragma_table_list \
             WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| damaged_or(path, e))?;
        let mut tables = BTreeMap::new();
        for name in names {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| damaged_or(path, e))?;
            tables.insert(name, u64::try_from(rows).unwrap_or(0));
        }
        let schema_version: i64 = if tables.contains_key("_sqlx_migrations") {
            sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
            )
            .fetch_one(&mut conn)
            .await
            .map_err(|e| damaged_or(path, e))?
        } else {
            0
        };
        Ok(DatabaseSummary {
            bytes,
            sha256,
            schema_version,
            tables,
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Whether the blob folder `root` holds `key` (a key that is not a plain relative
/// path is not there).
fn blob_exists(root: &Path, key: &str) -> bool {
    let relative = Path::new(key);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        && fs::symlink_metadata(root.join("objects").join(relative)).is_ok_and(|m| m.is_file())
}

/// Copies the blob folder `src` into `dst`, but its `tmp/` (files being written);
/// files already in `dst` are kept (a blob file is never changed in place: a new
/// version is a new file renamed over the old one).
fn copy_blob_folder(src: &Path, dst: &Path) -> Result<(), BackupError> {
    let Some(entries) = read_dir_if_any(src)? else {
        // No blob was ever stored.
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(io_err("read", src))?;
        if entry.file_name() == BLOB_TMP {
            continue;
        }
        copy_entry(&entry.path(), &dst.join(entry.file_name()))?;
    }
    Ok(())
}

/// Copies a file, or a folder recursively, skipping symbolic links and what
/// disappears meanwhile (a blob deleted while it is copied).
fn copy_entry(src: &Path, dst: &Path) -> Result<(), BackupError> {
    let stat = match fs::symlink_metadata(src) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", src)(e)),
    };
    if stat.is_dir() {
        match fs::symlink_metadata(dst) {
            Ok(m) if m.is_dir() => {}
            _ => create_private_dir(dst)?,
        }
        let Some(entries) = read_dir_if_any(src)? else {
            return Ok(());
        };
        for entry in entries {
            match entry {
                Ok(entry) => copy_entry(&entry.path(), &dst.join(entry.file_name()))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("read", src)(e)),
            }
        }
        Ok(())
    } else if stat.is_file() {
        if fs::symlink_metadata(dst).is_ok() {
            return Ok(());
        }
        copy_file(src, dst).map(|_| ())
    } else {
        Ok(())
    }
}

/// Copies one file into a new `0600` file, synced; a source that vanished copies
/// nothing (`Ok(false)`).
fn copy_file(src: &Path, dst: &Path) -> Result<bool, BackupError> {
    let mut input = match File::open(src) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("read", src)(e)),
    };
    let mut output = private_file_options()
        .open(dst)
        .map_err(io_err("create", dst))?;
    io::copy(&mut input, &mut output).map_err(io_err("copy into", dst))?;
    output.sync_all().map_err(io_err("write", dst))?;
    Ok(true)
}

/// Copies the state files that exist into `dst`; their names.
fn copy_state_files(files: &[PathBuf], dst: &Path) -> Result<Vec<String>, BackupError> {
    let mut names = Vec::new();
    for file in files {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !fs::symlink_metadata(file).is_ok_and(|m| m.is_file()) {
            continue;
        }
        if names.is_empty() {
            create_private_dir(dst)?;
        }
        if copy_file(file, &dst.join(name))? {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The entries of the folder `dir`; `None` when it does not exist.
fn read_dir_if_any(dir: &Path) -> Result<Option<fs::ReadDir>, BackupError> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(Some(entries)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", dir)(e)),
    }
}

/// Counts the blobs (files under the top folder `objects/`), files and bytes
/// under a blob folder copy.
fn count_blobs(root: &Path) -> Result<BlobsSummary, BackupError> {
    fn walk(
        dir: &Path,
        at_root: bool,
        in_objects: bool,
        sum: &mut BlobsSummary,
    ) -> Result<(), BackupError> {
        let Some(entries) = read_dir_if_any(dir)? else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(io_err("read", dir))?;
            let stat = entry.metadata().map_err(io_err("read", &entry.path()))?;
            if stat.is_dir() {
                let objects = in_objects || (at_root && entry.file_name() == "objects");
                walk(&entry.path(), false, objects, sum)?;
            } else if stat.is_file() {
                sum.files += 1;
                sum.bytes += stat.len();
                if in_objects {
                    sum.objects += 1;
                }
            }
        }
        Ok(())
    }
    let mut sum = BlobsSummary {
        objects: 0,
        files: 0,
        bytes: 0,
    };
    walk(root, true, false, &mut sum)?;
    Ok(sum)
}

/// Writes `backup.json` (a temporary file, synced, renamed) and syncs the folder.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let tmp = dir.join(".backup.json.tmp");
    let mut json = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Io {
        action: "write",
        path: path.clone(),
        source: io::Error::other(e),
    })?;
    json.push(b'\n');
    let mut file = private_file_options()
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    file.write_all(&json).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &path).map_err(io_err("write", &path))?;
    sync_dir(dir)
}

/// Reads and checks a backup folder's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let bad = |reason: String| BackupError::Manifest {
        path: path.clone(),
        reason,
    };
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(bad(
                "missing: the folder is not a backup, or its backup did not finish".into(),
            ))
        }
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("unreadable JSON ({e})")))?;
    if manifest.format != FORMAT {
        return Err(bad(format!(
            "format {} (this kcl reads format {FORMAT})",
            manifest.format
        )));
    }
    for name in &manifest.files {
        if !is_plain_name(name) {
            return Err(bad(format!("file name {name:?} is not a plain file name")));
        }
    }
    Ok(manifest)
}

fn is_plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(parts.next(), Some(Component::Normal(n)) if n == name) && parts.next().is_none()
}

/// Checks a backup folder against its manifest without restoring it: the manifest,
/// the database's integrity, schema version and rows per table, the blob count and
/// bytes, every referenced blob present (but the manifest's `missing_blobs`), and
/// the state files. Returns the manifest.
pub async fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let manifest = {
        let dir = dir.to_owned();
        blocking(move || read_manifest(&dir)).await?
    };
    check_copy(
        &manifest,
        &dir.join(DATABASE_FILE),
        &dir.join(BLOBS_FOLDER),
        &dir.join(FILES_FOLDER),
    )
    .await?;
    Ok(manifest)
}

/// Refuses a backup of a schema newer than this build knows.
fn check_schema(manifest: &Manifest) -> Result<(), BackupError> {
    let known = latest_schema_version();
    if manifest.database.schema_version > known {
        return Err(BackupError::NewerSchema {
            backup: manifest.database.schema_version,
            known,
            kcl_version: manifest.kcl_version.clone(),
        });
    }
    Ok(())
}

/// The checks of [`verify`], on a database, blob folder and files folder.
async fn check_copy(
    manifest: &Manifest,
    database: &Path,
    blobs: &Path,
    files: &Path,
) -> Result<(), BackupError> {
    check_schema(manifest)?;
    if !fs::symlink_metadata(database).is_ok_and(|m| m.is_file()) {
        return Err(BackupError::Mismatch {
            path: database.to_owned(),
            reason: "the database file is missing".into(),
        });
    }
    let found = summarize_database(database).await?;
    let mismatch = |reason: String| BackupError::Mismatch {
        path: database.to_owned(),
        reason,
    };
    if (found.bytes, &found.sha256) != (manifest.database.bytes, &manifest.database.sha256) {
        return Err(mismatch(format!(
            "{} bytes with SHA-256 {} (the manifest says {} bytes, {})",
            found.bytes, found.sha256, manifest.database.bytes, manifest.database.sha256
        )));
    }
    check_database(database).await?;
    if found.schema_version != manifest.database.schema_version {
        return Err(mismatch(format!(
            "schema version {} (the manifest says {})",
            found.schema_version, manifest.database.schema_version
        )));
    }
    if found.tables != manifest.database.tables {
        let differ: Vec<String> = manifest
            .database
            .tables
            .keys()
            .chain(found.tables.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|t| manifest.database.tables.get(*t) != found.tables.get(*t))
            .map(|t| {
                let show = |n: Option<&u64>| n.map_or("none".to_owned(), u64::to_string);
                format!(
                    "{t}: {} rows (the manifest says {})",
                    show(found.tables.get(t)),
                    show(manifest.database.tables.get(t))
                )
            })
            .collect();
        return Err(mismatch(differ.join(", ")));
    }
    let referenced = referenced_blobs(database).await?;
    let (root, expected, allowed, names, files) = (
        blobs.to_owned(),
        manifest.blobs,
        manifest
            .missing_blobs
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        manifest.files.clone(),
        files.to_owned(),
    );
    blocking(move || {
        let found = count_blobs(&root)?;
        if found != expected {
            return Err(BackupError::Mismatch {
                path: root.clone(),
                reason: format!(
                    "{} blobs, {} files, {} bytes (the manifest says {}, {}, {})",
                    found.objects,
                    found.files,
                    found.bytes,
                    expected.objects,
                    expected.files,
                    expected.bytes
                ),
            });
        }
        let missing: Vec<&String> = referenced
            .iter()
            .filter(|k| !allowed.contains(*k) && !blob_exists(&root, k))
            .collect();
        if let Some(first) = missing.first() {
            return Err(BackupError::Mismatch {
                path: root.clone(),
                reason: format!(
                    "{} blob(s) the database references are missing (first: {first})",
                    missing.len()
                ),
            });
        }
        for name in &names {
            let path = files.join(name);
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                return Err(BackupError::Mismatch {
                    path,
                    reason: "the file is missing".into(),
                });
            }
        }
        Ok(())
    })
    .await
}

/// Restores the backup in `dir` to `targets`, after checking it all (see
/// [`verify`]) on the copy about to be put in place. Refused when a target already
/// holds data, unless `force`; refused, even with `force`, while another process
/// has the target database open. Returns the backup's manifest.
///
/// The database's `-wal` and `-shm` files go with the data they belong to: a stale
/// log is never replayed onto the restored database.
pub async fn restore(dir: &Path, targets: &Targets, force: bool) -> Result<Manifest, BackupError> {
    let manifest = {
        let dir = dir.to_owned();
        blocking(move || read_manifest(&dir)).await?
    };
    check_schema(&manifest)?;
    let existing = {
        let (targets, names) = (targets.clone(), manifest.files.clone());
        blocking(move || existing_data(&targets, &names)).await?
    };
    if let Some(first) = existing.first() {
        if !force {
            return Err(BackupError::HasData(first.clone()));
        }
    }
    check_not_in_use(&targets.database).await?;
    let mut stages = Stages {
        id: format!(".kcl-restore-{}", uuid::Uuid::new_v4().simple()),
        dirs: HashMap::new(),
    };
    let result = stage_and_place(dir, targets, &manifest, &mut stages).await;
    let dirs: Vec<PathBuf> = stages.dirs.into_values().collect();
    let _ = tokio::task::spawn_blocking(move || {
        for d in dirs {
            let _ = fs::remove_dir_all(&d);
        }
    })
    .await;
    result.map(|()| manifest)
}

/// The `.kcl-restore-*` folders, one beside each target (a rename never crosses
/// file systems).
struct Stages {
    id: String,
    /// Parent folder → its stage folder.
    dirs: HashMap<PathBuf, PathBuf>,
}

impl Stages {
    /// The stage folder beside `target`, created (with the target's parent) when
    /// first asked for.
    fn beside(&mut self, target: &Path) -> Result<PathBuf, BackupError> {
        match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => self.inside(p),
            _ => self.inside(Path::new(".")),
        }
    }

    /// The stage folder inside `parent`, created (with `parent`, 0700) when first
    /// asked for.
    fn inside(&mut self, parent: &Path) -> Result<PathBuf, BackupError> {
        if let Some(dir) = self.dirs.get(parent) {
            return Ok(dir.clone());
        }
        if !parent.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).map_err(io_err("create", parent))?;
        }
        let dir = parent.join(&self.id);
        create_private_dir(&dir)?;
        self.dirs.insert(parent.to_owned(), dir.clone());
        Ok(dir)
    }
}

async fn stage_and_place(
    dir: &Path,
    targets: &Targets,
    manifest: &Manifest,
    stages: &mut Stages,
) -> Result<(), BackupError> {
    let db_stage = stages.beside(&targets.database)?;
    let blobs_stage = stages.beside(&targets.blobs)?;
    let files_stage = stages.inside(&targets.files_dir)?;
    let (new_db, new_blobs, new_files) = (
        db_stage.join("new-database"),
        blobs_stage.join("new-blobs"),
        files_stage.join("new-files"),
    );
    {
        let (dir, names) = (dir.to_owned(), manifest.files.clone());
        let (new_db, new_blobs, new_files) = (new_db.clone(), new_blobs.clone(), new_files.clone());
        blocking(move || {
            let db = dir.join(DATABASE_FILE);
            if !copy_file(&db, &new_db)? {
                return Err(BackupError::Mismatch {
                    path: db,
                    reason: "the database file is missing".into(),
                });
            }
            create_private_dir(&new_blobs)?;
            copy_blob_folder(&dir.join(BLOBS_FOLDER), &new_blobs)?;
            create_private_dir(&new_files)?;
            for name in &names {
                let src = dir.join(FILES_FOLDER).join(name);
                if !copy_file(&src, &new_files.join(name))? {
                    return Err(BackupError::Mismatch {
                        path: src,
                        reason: "the file is missing".into(),
                    });
                }
            }
            Ok(())
        })
        .await?;
    }
    // Everything is checked on the copy that is about to be put in place; errors
    // name the backup's files, of which the copies are exact.
    check_copy(manifest, &new_db, &new_blobs, &new_files)
        .await
        .map_err(|e| {
            e.naming(&[
                (&new_db, &dir.join(DATABASE_FILE)),
                (&new_blobs, &dir.join(BLOBS_FOLDER)),
                (&new_files, &dir.join(FILES_FOLDER)),
            ])
        })?;
    // A server may have started meanwhile.
    check_not_in_use(&targets.database).await?;

    // The renames: state files, blobs, then the database, the old data moved aside
    // into the stage folders (removed at the end).
    let mut steps: Vec<Step> = Vec::new();
    for name in &manifest.files {
        steps.push(Step {
            new: Some(new_files.join(name)),
            target: targets.files_dir.join(name),
            old: files_stage.join(format!("old-file-{name}")),
        });
    }
    steps.push(Step {
        new: Some(new_blobs),
        target: targets.blobs.clone(),
        old: blobs_stage.join("old-blobs"),
    });
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut target = targets.database.clone().into_os_string();
        target.push(suffix);
        steps.push(Step {
            new: None,
            target: PathBuf::from(target),
            old: db_stage.join(format!("old-database{suffix}")),
        });
    }
    steps.push(Step {
        new: Some(new_db),
        target: targets.database.clone(),
        old: db_stage.join("old-database"),
    });
    blocking(move || place(&steps)).await
}

/// One rename of a restore: `target` (if present) moves to `old`, then `new` (if
/// any) moves to `target`.
struct Step {
    new: Option<PathBuf>,
    target: PathBuf,
    old: PathBuf,
}

/// Does the steps in order; on a failure, undoes the ones done, in reverse.
fn place(steps: &[Step]) -> Result<(), BackupError> {
    let mut done: Vec<(&Step, bool, bool)> = Vec::new();
    let mut run = || -> Result<(), BackupError> {
        for step in steps {
            let moved = match fs::symlink_metadata(&step.target) {
                Ok(_) => {
                    fs::rename(&step.target, &step.old)
                        .map_err(io_err("move aside", &step.target))?;
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(io_err("read", &step.target)(e)),
            };
            done.push((step, moved, false));
            if let Some(new) = &step.new {
                fs::rename(new, &step.target).map_err(io_err("put in place", &step.target))?;
                if let Some(last) = done.last_mut() {
                    last.2 = true;
                }
            }
        }
        Ok(())
    };
    let result = run();
    if result.is_err() {
        for (step, moved, placed) in done.into_iter().rev() {
            if placed {
                if let Some(new) = &step.new {
                    let _ = fs::rename(&step.target, new);
                }
            }
            if moved {
                let _ = fs::rename(&step.old, &step.target);
            }
        }
        return result;
    }
    let mut parents = BTreeSet::new();
    for step in steps {
        if let Some(p) = step.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            parents.insert(p.to_owned());
        }
    }
    for p in parents {
        sync_dir(&p)?;
    }
    Ok(())
}

/// The targets that hold data: the database (or its log), a blob folder with a
/// file in it, a state file the backup would replace.
fn existing_data(targets: &Targets, files: &[String]) -> Result<Vec<PathBuf>, BackupError> {
    let mut found = Vec::new();
    let mut wal = targets.database.clone().into_os_string();
    wal.push("-wal");
    for path in [targets.database.clone(), PathBuf::from(wal)] {
        if fs::symlink_metadata(&path).is_ok() {
            found.push(path);
        }
    }
    if count_blobs(&targets.blobs)?.files > 0 {
        found.push(targets.blobs.clone());
    }
    for name in files {
        let path = targets.files_dir.join(name);
        if fs::symlink_metadata(&path).is_ok() {
            found.push(path);
        }
    }
    Ok(found)
}

/// Refuses a database another process has open: taking it in exclusive locking mode
/// fails at once while any other connection is open (WAL readers included).
async fn check_not_in_use(database: &Path) -> Result<(), BackupError> {
    if fs::symlink_metadata(database).is_err() {
        return Ok(());
    }
    let busy = |e: &sqlx::Error| {
        e.as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
    };
    let conn = SqliteConnectOptions::new()
        .filename(database)
        .busy_timeout(Duration::ZERO)
        .pragma("locking_mode", "EXCLUSIVE")
        .connect()
        .await;
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) if busy(&e) => return Err(BackupError::InUse(database.to_owned())),
        // Unreadable or damaged: it is about to be replaced, no one can be using it.
        Err(_) => return Ok(()),
    };
    let locked = sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await;
    let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
    let _ = conn.close().await;
    match locked {
        Err(e) if busy(&e) => Err(BackupError::InUse(database.to_owned())),
        _ => Ok(()),
    }
}

/// Options of a new file only its owner reads and writes (0600 on Unix).
fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates an empty `0600` file.
fn create_private_file(path: &Path) -> Result<(), BackupError> {
    private_file_options()
        .open(path)
        .map(drop)
        .map_err(io_err("create", path))
}

/// Creates a `0700` folder (its parent must exist).
fn create_private_dir(path: &Path) -> Result<(), BackupError> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(io_err("create", path))
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", path)(e)),
        _ => Ok(()),
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err("write", path))
}

/// Makes a folder's new entries durable (a no-op where folders cannot be opened).
fn sync_dir(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err("write", path))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::SqliteStore;

    /// A live data dir: a migrated database and a blob folder, with OCR images (one
    /// job, one item per image) whose rows reference their blobs.
    struct Live {
        dir: tempfile::TempDir,
        store: SqliteStore,
    }

    impl Live {
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("data/kcl.db"))
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO ocr_jobs (id, name, created_at, updated_at) VALUES ('j', 'job', 0, 0)",
            )
            .execute(store.write_pool())
            .await
            .unwrap();
            fs::write(dir.path().join("data/auth.json"), b"{}").unwrap();
            Self { dir, store }
        }

        fn data(&self) -> PathBuf {
            self.dir.path().join("data")
        }

        fn sources(&self) -> Sources {
            Sources {
                database: self.data().join("kcl.db"),
                blobs: self.data().join("blobs"),
                files: vec![
                    self.data().join("auth.json"),
                    self.data().join("absent.json"),
                ],
            }
        }

        fn targets(&self, name: &str) -> Targets {
            let root = self.dir.path().join(name);
            Targets {
                database: root.join("kcl.db"),
                blobs: root.join("blobs"),
                files_dir: root,
            }
        }

        /// Stores image `n`'s blob, then commits the row referencing it.
        async fn add_image(&self, n: i64) -> String {
            let key = format!("jobs/j/{n}.png");
            let path = self.data().join("blobs/objects").join(&key);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("image {n}")).unwrap();
            sqlx::query(
                "INSERT INTO ocr_items (id, job_id, seq, key, content_hash, status, created_at, \
                 expires_at, updated_at) VALUES (?1, 'j', ?2, ?3, 'h', 'PENDING', 0, 0, 0)",
            )
            .bind(format!("i{n}"))
            .bind(n)
            .bind(&key)
            .execute(self.store.write_pool())
            .await
            .unwrap();
            key
        }

        /// [`add_image`](Self::add_image) from a backup's (synchronous) callback.
        fn add_image_now(&self, n: i64) {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(self.add_image(n))
            });
        }

        /// Commits the row's removal, then deletes the blob: as the services do.
        fn drop_image(&self, n: i64) {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    sqlx::query("DELETE FROM ocr_items WHERE id = ?1")
                        .bind(format!("i{n}"))
                        .execute(self.store.write_pool())
                        .await
                        .unwrap();
                })
            });
            fs::remove_file(self.data().join(format!("blobs/objects/jobs/j/{n}.png"))).unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blob_deleted_after_the_snapshot_is_caught_and_the_database_taken_again() {
        let live = Live::new().await;
        for n in 1..=3 {
            live.add_image(n).await;
        }
        let out = live.dir.path().join("backup");
        let snapshots = AtomicU32::new(0);
        let manifest = backup_with(&live.sources(), &out, &|moment| {
            if let Moment::Snapshot(attempt) = moment {
                snapshots.fetch_add(1, Ordering::SeqCst);
                // A job's image deleted right after the first snapshot: it references
                // a blob that is gone before the copy reaches it.
                if attempt == 1 {
                    live.drop_image(2);
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(
            snapshots.load(Ordering::SeqCst),
            2,
            "the database was taken again"
        );
        assert!(manifest.missing_blobs.is_empty());
        assert_eq!(manifest.database.tables["ocr_items"], 2);
        assert_eq!(manifest.blobs.objects, 2);
        assert_eq!(manifest.files, ["auth.json"]);
        assert_eq!(verify(&out).await.unwrap(), manifest);
        assert_eq!(read_manifest(&out).unwrap(), manifest);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blobs_that_keep_disappearing_fail_the_backup_and_take_back_what_it_wrote() {
        let live = Live::new().await;
        live.add_image(1).await;
        let out = live.dir.path().join("backup");
        fs::create_dir(&out).unwrap();
        // Each snapshot references an image added after the previous copy and
        // deleted before this one: every attempt finds a newly missing blob.
        let err = backup_with(&live.sources(), &out, &|moment| match moment {
            Moment::Snapshot(1) => live.drop_image(1),
            Moment::Snapshot(n) => live.drop_image(100 + i64::from(n) - 1),
            Moment::Copied(n) => live.add_image_now(100 + i64::from(n)),
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, BackupError::KeptChanging { missing: 1 }),
            "{err}"
        );
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            0,
            "the folder is empty again"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blob_missing_from_the_live_folder_is_listed_and_the_rest_restores() {
        let live = Live::new().await;
        let kept = live.add_image(1).await;
        let lost = live.add_image(2).await;
        fs::remove_file(live.data().join("blobs/objects").join(&lost)).unwrap();
        let out = live.dir.path().join("backup");
        let manifest = backup(&live.sources(), &out).await.unwrap();
        assert_eq!(manifest.missing_blobs, [lost]);
        assert_eq!(manifest.database.tables["ocr_items"], 2);

        let targets = live.targets("restored");
        restore(&out, &targets, false).await.unwrap();
        assert!(targets.blobs.join("objects").join(&kept).is_file());
        assert_eq!(
            fs::read(targets.files_dir.join("auth.json")).unwrap(),
            b"{}"
        );

        // A blob gone from the backup itself is not excused.
        fs::remove_file(out.join("blobs/objects").join(&kept)).unwrap();
        let err = verify(&out).await.unwrap_err();
        assert!(matches!(err, BackupError::Mismatch { .. }), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restore_refuses_data_in_place_and_an_open_database_and_keeps_modes() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let live = Live::new().await;
        let key = live.add_image(1).await;
        let out = live.dir.path().join("backup");
        backup(&live.sources(), &out).await.unwrap();
        for p in [out.clone(), out.join("blobs/objects/jobs/j")] {
            assert_eq!(mode(&p), 0o700, "{}", p.display());
        }
        for p in [
            out.join("kcl.db"),
            out.join("backup.json"),
            out.join("blobs/objects").join(&key),
        ] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }

        let targets = live.targets("restored");
        restore(&out, &targets, false).await.unwrap();
        assert_eq!(mode(&targets.files_dir), 0o700);
        assert_eq!(mode(&targets.database), 0o600);
        let err = restore(&out, &targets, false).await.unwrap_err();
        assert!(
            matches!(err, BackupError::HasData(ref p) if p == &targets.database),
            "{err}"
        );

        // A server on the restored data: even --force is refused while it runs.
        let running = SqliteStore::open(&targets.database).await.unwrap();
        let err = restore(&out, &targets, true).await.unwrap_err();
        assert!(matches!(err, BackupError::InUse(_)), "{err}");
        running.close().await;
        drop(running);
        restore(&out, &targets, true).await.unwrap();
        let leftovers: Vec<_> = fs::read_dir(&targets.files_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".kcl-restore-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // The restored database opens and migrates like any other.
        let reopened = SqliteStore::open(&targets.database).await.unwrap();
        let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ocr_items")
            .fetch_one(reopened.pool())
            .await
            .unwrap();
        assert_eq!(items, 1);
        reopened.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_manifest_that_does_not_match_is_refused_before_anything_is_in_place() {
        let live = Live::new().await;
        live.add_image(1).await;
        let out = live.dir.path().join("backup");
        let manifest = backup(&live.sources(), &out).await.unwrap();
        let targets = live.targets("restored");
        let write = |m: &Manifest| {
            fs::write(out.join(MANIFEST_FILE), serde_json::to_vec(m).unwrap()).unwrap()
        };

        let mut newer = manifest.clone();
        newer.database.schema_version = latest_schema_version() + 1;
        write(&newer);
        let err = restore(&out, &targets, false).await.unwrap_err();
        assert!(matches!(err, BackupError::NewerSchema { .. }), "{err}");

        let mut rows = manifest.clone();
        *rows.database.tables.get_mut("ocr_items").unwrap() = 7;
        write(&rows);
        let err = restore(&out, &targets, false).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("ocr_items: 1 rows (the manifest says 7)"),
            "{err}"
        );

        let mut blobs = manifest.clone();
        blobs.blobs.objects += 1;
        write(&blobs);
        let err = restore(&out, &targets, false).await.unwrap_err();
        assert!(matches!(err, BackupError::Mismatch { .. }), "{err}");

        // Nothing was put in place, and no stage folder is left.
        assert!(!targets.database.exists());
        assert!(!targets.blobs.exists());
        let left = fs::read_dir(&targets.files_dir).map_or(0, |d| d.count());
        assert_eq!(left, 0);
    }
}
