//! [`BlobStore`] on a local folder.
//!
//! Layout under the root:
//!
//! ```text
//! objects/<key>   the blob's bytes (a key's `/` are subdirectories)
//! meta/<key>      its metadata, as JSON ({"content_type": "..."})
//! tmp/            files being written, renamed into place when complete
//! ```
//!
//! Objects and metadata live in two separate trees of the same shape, so no key can
//! ever collide with another key's metadata.
//!
//! Limits that S3 does not have, all reported as `InvalidInput`: a file system cannot
//! hold a file and a directory of the same name, so a key that is also a folder of
//! other keys (`a` and `a/b`) is refused, whichever comes second; a key segment has
//! at most 255 bytes. On a case-insensitive file system (macOS and Windows by
//! default) keys differing only in case are the same blob.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kcl_core::ports::{Blob, BlobKey, BlobMeta, BlobStore, BlobStoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LocalError;

/// The content type of a blob whose metadata is missing or unreadable.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
/// Leftover temporary files older than this are removed by [`FsBlobStore::open`].
const STALE_TMP: Duration = Duration::from_secs(3600);
/// The longest file name most file systems accept, in bytes.
const MAX_SEGMENT_BYTES: usize = 255;
/// Attempts to move a finished file into place while a concurrent delete removes
/// the (then empty) directory it goes to.
const PLACE_ATTEMPTS: u32 = 3;

/// A [`BlobStore`] in a local folder: one file per blob, written atomically
/// (temporary file, `fsync`, rename), content type in a metadata file beside it
/// in a separate tree. Cheap to clone.
///
/// Keys are validated by [`BlobKey::parse`]; as a second line of defence every path
/// is checked to stay under the root and to pass through no symbolic link.
/// Empty directories are removed on delete.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    layout: Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    root: PathBuf,
    objects: PathBuf,
    meta: PathBuf,
    tmp: PathBuf,
}

/// What `meta/<key>` holds.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    content_type: String,
}

impl FsBlobStore {
    /// A store in `root`; directories are created when first needed.
    pub fn new(root: PathBuf) -> Self {
        Self {
            layout: Arc::new(Layout {
                objects: root.join("objects"),
                meta: root.join("meta"),
                tmp: root.join("tmp"),
                root,
            }),
        }
    }

    /// A store in `root`, creating its directories now (so a bad path fails at
    /// start) and removing temporary files left by a crash.
    pub async fn open(root: PathBuf) -> Result<Self, LocalError> {
        let store = Self::new(root);
        let layout = store.layout.clone();
        let prepared = tokio::task::spawn_blocking(move || layout.prepare())
            .await
            .map_err(|e| io::Error::other(e.to_string()));
        prepared.and_then(|r| r).map_err(|source| LocalError::Io {
            path: store.layout.root.clone(),
            source,
        })?;
        Ok(store)
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// Runs blocking file-system work off the async threads.
    async fn blocking<T, F>(&self, work: F) -> Result<T, BlobStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Layout) -> Result<T, BlobStoreError> + Send + 'static,
    {
        let layout = self.layout.clone();
        tokio::task::spawn_blocking(move || work(&layout))
            .await
            .map_err(|e| BlobStoreError::Internal(Box::new(e)))?
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        data: Bytes,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        let key = key.clone();
        let content_type = content_type.to_owned();
        self.blocking(move |l| l.put(&key, &data, content_type))
            .await
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobStoreError> {
        let key = key.clone();
        self.blocking(move |l| l.get(key)).await
    }

    /// Copies the file in (a temporary file, then a rename): never the whole file
    /// in memory, whatever its size.
    async fn put_file(
        &self,
        key: &BlobKey,
        path: &Path,
        content_type: &str,
    ) -> Result<BlobMeta, BlobStoreError> {
        let key = key.clone();
        let content_type = content_type.to_owned();
        let path = path.to_owned();
        self.blocking(move |l| l.put_from(&key, Source::File(&path), content_type))
            .await
    }

    /// Copies the blob out to `path` without holding it in memory.
    async fn get_to_file(&self, key: &BlobKey, path: &Path) -> Result<BlobMeta, BlobStoreError> {
        let key = key.clone();
        let path = path.to_owned();
        self.blocking(move |l| l.get_to_file(key, &path)).await
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobMeta, BlobStoreError> {
        let key = key.clone();
        self.blocking(move |l| l.head(key)).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobStoreError> {
        let key = key.clone();
        self.blocking(move |l| l.delete(&key)).await
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |l| l.list(&prefix, limit)).await
    }
}

impl Layout {
    fn prepare(&self) -> io::Result<()> {
        // A new store's root is its owner's only (0700 on Unix); an existing one
        // keeps the mode its operator gave it.
        if !self.root.exists() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&self.root)?;
        }
        for dir in [&self.objects, &self.meta, &self.tmp] {
            fs::create_dir_all(dir)?;
        }
        let now = SystemTime::now();
        for entry in fs::read_dir(&self.tmp)? {
            let entry = entry?;
            let modified = entry.metadata().and_then(|m| m.modified());
            let stale =
                modified.is_ok_and(|m| now.duration_since(m).unwrap_or_default() > STALE_TMP);
            if stale {
                // Best effort: another process may be cleaning up too.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    fn put(
        &self,
        key: &BlobKey,
        data: &[u8],
        content_type: String,
    ) -> Result<BlobMeta, BlobStoreError> {
        self.put_from(key, Source::Bytes(data), content_type)
    }

    fn put_from(
        &self,
        key: &BlobKey,
        source: Source<'_>,
        content_type: String,
    ) -> Result<BlobMeta, BlobStoreError> {
        if !BlobMeta::is_valid_content_type(&content_type) {
            return Err(BlobStoreError::InvalidInput("bad content type".into()));
        }
        let object = resolve(&self.objects, key)?;
        let meta = resolve(&self.meta, key)?;
        fs::create_dir_all(&self.tmp).map_err(io_error)?;
        let sidecar = serde_json::to_vec(&Sidecar {
            content_type: content_type.clone(),
        })
        .map_err(|e| BlobStoreError::Internal(Box::new(e)))?;
        let data_file = match source {
            Source::Bytes(data) => TempFile::write(&self.tmp, data).map_err(io_error)?,
            Source::File(path) => TempFile::copy(&self.tmp, path).map_err(|e| {
                BlobStoreError::InvalidInput(format!("cannot read {}: {e}", path.display()))
            })?,
        };
        let meta_file = TempFile::write(&self.tmp, &sidecar).map_err(io_error)?;
        // A clash with the store's own folders (one replaced by a file) is the
        // server's fault, not the key's.
        let conflict = |e: io::Error| match self.check_folders() {
            Ok(()) => put_error(key, e),
            Err(broken) => broken,
        };
        data_file.place(&object).map_err(conflict)?;
        meta_file.place(&meta).map_err(conflict)?;
        let stat = fs::symlink_metadata(&object).map_err(io_error)?;
        Ok(BlobMeta {
            key: key.clone(),
            size: stat.len(),
            content_type,
            last_modified: modified(&stat),
        })
    }

    fn get(&self, key: BlobKey) -> Result<Blob, BlobStoreError> {
        let object = resolve(&self.objects, &key)?;
        let mut file = File::open(&object).map_err(|e| read_error(&key, e))?;
        let stat = file.metadata().map_err(io_error)?;
        if !stat.is_file() {
            return Err(BlobStoreError::NotFound(key));
        }
        let mut data = Vec::with_capacity(usize::try_from(stat.len()).unwrap_or(0));
        file.read_to_end(&mut data).map_err(io_error)?;
        let meta = BlobMeta {
            size: data.len() as u64,
            content_type: self.content_type(&key),
            last_modified: modified(&stat),
            key,
        };
        Ok(Blob {
            meta,
            data: Bytes::from(data),
        })
    }

    fn get_to_file(&self, key: BlobKey, dest: &Path) -> Result<BlobMeta, BlobStoreError> {
        let object = resolve(&self.objects, &key)?;
        let mut file = File::open(&object).map_err(|e| read_error(&key, e))?;
        let stat = file.metadata().map_err(io_error)?;
        if !stat.is_file() {
            return Err(BlobStoreError::NotFound(key));
        }
        let mut out = File::create(dest).map_err(io_error)?;
        let size = io::copy(&mut file, &mut out).map_err(io_error)?;
        Ok(BlobMeta {
            size,
            content_type: self.content_type(&key),
            last_modified: modified(&stat),
            key,
        })
    }

    fn head(&self, key: BlobKey) -> Result<BlobMeta, BlobStoreError> {
        let object = resolve(&self.objects, &key)?;
        let stat = fs::symlink_metadata(&object).map_err(|e| read_error(&key, e))?;
        if !stat.is_file() {
            return Err(BlobStoreError::NotFound(key));
        }
        Ok(self.meta_of(key, &stat))
    }

    fn delete(&self, key: &BlobKey) -> Result<(), BlobStoreError> {
        for base in [&self.objects, &self.meta] {
            let path = resolve(base, key)?;
            match fs::symlink_metadata(&path) {
                Ok(stat) if stat.is_file() => remove_file(&path)?,
                // A directory is a prefix of other keys, not a blob: nothing to delete.
                Ok(_) => continue,
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(io_error(e)),
            }
            prune_empty_parents(base, &path);
        }
        Ok(())
    }

    /// The store's own folders are folders: one missing, or a file in its place, is
    /// `Unavailable` (the server's fault, shown by `/health`), never a client's.
    fn check_folders(&self) -> Result<(), BlobStoreError> {
        for dir in [&self.objects, &self.meta, &self.tmp] {
            match fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(BlobStoreError::Unavailable(
                        format!("{} is not a folder", dir.display()).into(),
                    ))
                }
                Err(e) => {
                    return Err(BlobStoreError::Unavailable(
                        format!("{}: {e}", dir.display()).into(),
                    ))
                }
            }
        }
        Ok(())
    }

    fn list(&self, prefix: &str, limit: usize) -> Result<Vec<BlobMeta>, BlobStoreError> {
        self.check_folders()?;
        let mut out = Vec::new();
        if limit > 0 {
            self.walk(&self.objects, "", prefix, limit, &mut out)?;
        }
        Ok(out)
    }

    /// Lists the blobs under `dir` (whose keys start with `dir_key`) that start with
    /// `prefix`, in key order, until `out` holds `limit`.
    fn walk(
        &self,
        dir: &Path,
        dir_key: &str,
        prefix: &str,
        limit: usize,
        out: &mut Vec<BlobMeta>,
    ) -> Result<(), BlobStoreError> {
        for entry in sorted_entries(dir)? {
            if out.len() >= limit {
                break;
            }
            let key = format!("{dir_key}{}", entry.name);
            if entry.is_dir {
                let sub_key = format!("{key}/");
                if sub_key.starts_with(prefix) || prefix.starts_with(&sub_key) {
                    self.walk(&dir.join(&entry.name), &sub_key, prefix, limit, out)?;
                }
            } else if key.starts_with(prefix) {
                // Names no key could produce (written by hand) are skipped.
                let Ok(key) = BlobKey::parse(&key) else {
                    continue;
                };
                match fs::symlink_metadata(dir.join(&entry.name)) {
                    Ok(stat) => out.push(self.meta_of(key, &stat)),
                    Err(e) if is_missing(&e) => {} // deleted meanwhile
                    Err(e) => return Err(io_error(e)),
                }
            }
        }
        Ok(())
    }

    fn meta_of(&self, key: BlobKey, stat: &fs::Metadata) -> BlobMeta {
        BlobMeta {
            size: stat.len(),
            content_type: self.content_type(&key),
            last_modified: modified(stat),
            key,
        }
    }

    /// The content type recorded at `put` (a default when the metadata is missing,
    /// for example after a crash between the two renames).
    fn content_type(&self, key: &BlobKey) -> String {
        resolve(&self.meta, key)
            .ok()
            .and_then(|path| fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice::<Sidecar>(&bytes).ok())
            .map_or_else(|| DEFAULT_CONTENT_TYPE.to_owned(), |s| s.content_type)
    }
}

/// The path of `key` under `base`, refusing anything that could leave `base`:
/// a segment that is not a plain name, or an existing symbolic link on the way.
fn resolve(base: &Path, key: &BlobKey) -> Result<PathBuf, BlobStoreError> {
    let refuse = |why: &str| {
        Err(BlobStoreError::InvalidInput(format!(
            "blob key {key} {why}"
        )))
    };
    let mut path = base.to_path_buf();
    let mut check_links = true;
    for segment in key.as_str().split('/') {
        let mut parts = Path::new(segment).components();
        let plain = matches!(parts.next(), Some(Component::Normal(s)) if s == segment);
        if !plain || parts.next().is_some() || segment.contains('\0') {
            return refuse("has a segment that is not a plain file name");
        }
        if segment.len() > MAX_SEGMENT_BYTES {
            return refuse("has a segment longer than 255 bytes, the file-system limit");
        }
        path.push(segment);
        if check_links {
            match fs::symlink_metadata(&path) {
                Ok(stat) if stat.file_type().is_symlink() => {
                    return refuse("passes through a symbolic link");
                }
                Ok(_) => {}
                // Nothing below a missing entry can exist.
                Err(e) if is_missing(&e) => check_links = false,
                Err(e) => return Err(io_error(e)),
            }
        }
    }
    if !path.starts_with(base) {
        return refuse("leaves the store");
    }
    Ok(path)
}

/// A directory entry the listing may visit: a plain file or directory with a UTF-8
/// name (symbolic links and anything else are skipped).
struct Entry {
    name: String,
    is_dir: bool,
}

impl Entry {
    /// Key order: a directory sorts as its name followed by `/`, the first byte of
    /// every key below it, so walking siblings in this order walks keys in order.
    fn order_key(&self) -> String {
        if self.is_dir {
            format!("{}/", self.name)
        } else {
            self.name.clone()
        }
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<Entry>, BlobStoreError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if is_missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(io_error(e)),
    };
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.map_err(io_error)?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if kind.is_dir() || kind.is_file() {
            entries.push(Entry {
                name,
                is_dir: kind.is_dir(),
            });
        }
    }
    entries.sort_by_cached_key(Entry::order_key);
    Ok(entries)
}

/// What a blob is written from.
enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// A complete file in the temporary directory, removed unless moved into place.
struct TempFile {
    path: PathBuf,
    placed: bool,
}

impl TempFile {
    /// Writes `bytes` to a new temporary file and flushes it to disk.
    fn write(dir: &Path, bytes: &[u8]) -> io::Result<Self> {
        let file = Self {
            path: dir.join(format!("{}.tmp", Uuid::new_v4())),
            placed: false,
        };
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file.path)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        Ok(file)
    }

    /// Copies `src` to a new temporary file (streamed) and flushes it to disk.
    fn copy(dir: &Path, src: &Path) -> io::Result<Self> {
        let file = Self {
            path: dir.join(format!("{}.tmp", Uuid::new_v4())),
            placed: false,
        };
        let mut input = File::open(src)?;
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file.path)?;
        io::copy(&mut input, &mut out)?;
        out.sync_all()?;
        Ok(file)
    }

    /// Renames the file to `dest` (atomically replacing what was there), creating
    /// its directory, and flushes the directory entry.
    fn place(mut self, dest: &Path) -> io::Result<()> {
        let parent = dest.parent().unwrap_or(dest);
        let mut attempt = 1;
        loop {
            fs::create_dir_all(parent)?;
            match fs::rename(&self.path, dest) {
                Ok(()) => break,
                // A concurrent delete removed the directory, now empty: again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < PLACE_ATTEMPTS => {
                    attempt += 1
                }
                Err(e) => return Err(e),
            }
        }
        self.placed = true;
        sync_dir(parent);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            // Best effort; `FsBlobStore::open` removes what is left.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Flushes a directory's entries (a rename's durability); not possible everywhere.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn remove_file(path: &Path) -> Result<(), BlobStoreError> {
    match fs::remove_file(path) {
        Err(e) if !is_missing(&e) => Err(io_error(e)),
        _ => Ok(()),
    }
}

/// Removes the now empty directories between `path` and `base`.
fn prune_empty_parents(base: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| *d != base && d.starts_with(base)) {
        // Fails (and stops) at the first directory that is not empty.
        if fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

fn modified(stat: &fs::Metadata) -> DateTime<Utc> {
    stat.modified()
        .map_or_else(|_| Utc::now(), DateTime::<Utc>::from)
}

/// Whether an error means "no such entry" (also when a path goes through a file).
fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// A read of `key` failed.
fn read_error(key: &BlobKey, e: io::Error) -> BlobStoreError {
    if is_missing(&e) {
        BlobStoreError::NotFound(key.clone())
    } else {
        io_error(e)
    }
}

/// Moving a blob into place failed; a file/directory clash means the key is also a
/// prefix of other keys (or has a blob as a prefix).
fn put_error(key: &BlobKey, e: io::Error) -> BlobStoreError {
    use io::ErrorKind::{AlreadyExists, DirectoryNotEmpty, IsADirectory, NotADirectory};
    if matches!(
        e.kind(),
        NotADirectory | AlreadyExists | IsADirectory | DirectoryNotEmpty
    ) {
        BlobStoreError::InvalidInput(format!(
            "blob key {key} clashes with another key: a key cannot also be a folder of other keys"
        ))
    } else {
        io_error(e)
    }
}

/// Any other file-system failure: `Unavailable` when it may pass (full disk, busy,
/// interrupted), `Internal` otherwise.
fn io_error(e: io::Error) -> BlobStoreError {
    use io::ErrorKind::{Interrupted, ResourceBusy, StorageFull, TimedOut, WouldBlock};
    if matches!(
        e.kind(),
        StorageFull | ResourceBusy | TimedOut | Interrupted | WouldBlock
    ) {
        BlobStoreError::Unavailable(Box::new(e))
    } else {
        BlobStoreError::Internal(Box::new(e))
    }
}
