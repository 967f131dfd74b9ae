//! Cover images: validated uploads, the thumbnail task, and the worker's side of it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;

use super::journal::{Journal, Touched};
use super::{CatalogService, ServiceError};
use crate::domain::{
    AuditAction, BookCover, BookId, CoverKey, EntityRef, TaskMessage, ThumbnailTask,
};
use crate::ports::{
    Blob, BlobKey, BlobStore, BlobStoreError, BookRepo, BookRepoError, Clock, CoverSwap, ErrorKind,
    IdSource, ImageError, ImageLimits, PortError, ProcessingState, ProcessingStatus,
    StatusCondition, StatusStore, TaskQueue, Thumbnailer,
};

/// Cover settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoverSettings {
    /// Limits an upload must respect (checked on the header, before decoding).
    pub limits: ImageLimits,
    /// The thumbnail's longest side, in pixels (`KCL_THUMB_SIZE`, default 256).
    pub thumb_size: u32,
    /// A cover still `PENDING` or `PROCESSING` this long after its status last changed
    /// has lost its task (a worker that died on the queue's last delivery, a queue
    /// that was emptied): reading its status then records `ERROR`, so pages stop
    /// waiting for a thumbnail that will not come (`KCL_THUMB_STALE_SECS`, default 6 h).
    pub stale_after: Duration,
}

impl Default for CoverSettings {
    fn default() -> Self {
        Self {
            limits: ImageLimits::default(),
            thumb_size: 256,
            stale_after: Duration::from_secs(6 * 3600),
        }
    }
}

/// An accepted upload: where it is and how its processing goes.
#[derive(Debug, Clone, Serialize)]
pub struct CoverAccepted {
    /// The original's blob key (the status key).
    pub key: String,
    /// Its status (PENDING).
    pub status: ProcessingStatus,
}

/// What a task handler says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Done (or nothing to do: a repeated, stale or test message). Ack it.
    Done,
    /// Failed for good; the status says why. Ack it: retrying cannot help.
    Failed(String),
    /// Failed for now (storage unavailable); retry later with back-off.
    Retry(String),
    /// Not ready yet: a record the task needs is still being written by the request
    /// that queued it (the task is queued first). Retry with back-off, but after at
    /// most this long: by then the record is there, or the task knows it never will
    /// be, and a long back-off would only hold its answer up.
    RetryWithin(String, std::time::Duration),
}

impl TaskOutcome {
    /// The outcome of a message holding several tasks: a `Retry` wins (back-off), then
    /// a `RetryWithin` (the sooner one), then a `Failed`; `Done` only if all are.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kcl_core::services::TaskOutcome::*;
    /// let soon = RetryWithin("linking".into(), Duration::from_secs(5));
    /// assert_eq!(Done.and(Failed("x".into())), Failed("x".into()));
    /// assert_eq!(Failed("x".into()).and(soon.clone()), soon);
    /// assert_eq!(soon.clone().and(Retry("down".into())), Retry("down".into()));
    /// ```
    #[must_use]
    pub fn and(self, other: TaskOutcome) -> TaskOutcome {
        use TaskOutcome::*;
        match (self, other) {
            (Retry(a), _) => Retry(a),
            (_, Retry(b)) => Retry(b),
            (RetryWithin(a, x), RetryWithin(b, y)) => {
                if y < x {
                    RetryWithin(b, y)
                } else {
                    RetryWithin(a, x)
                }
            }
            (w @ RetryWithin(..), _) | (_, w @ RetryWithin(..)) => w,
            (f @ Failed(_), _) | (_, f @ Failed(_)) => f,
            (Done, Done) => Done,
        }
    }
}

/// Runs the messages of one queue (what a worker host or a Lambda handler calls).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Handles one message body. Must be idempotent: a message may come more than once.
    async fn handle(&self, body: &str) -> TaskOutcome;

    /// Called when a message is about to be dead-lettered after failing `Retry` too
    /// often: record the failure where users can see it.
    async fn give_up(&self, body: &str, reason: &str);

    /// The kind of task, for metrics and logs (`thumbnail`, `ocr`).
    fn kind(&self) -> &'static str {
        "task"
    }
}

/// Cover uploads and thumbnails.
pub struct CoverService {
    books: Arc<dyn BookRepo>,
    blobs: Arc<dyn BlobStore>,
    tasks: Arc<dyn TaskQueue>,
    status: Arc<dyn StatusStore>,
    thumbnailer: Option<Arc<dyn Thumbnailer>>,
    catalog: Arc<CatalogService>,
    journal: Journal,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    settings: CoverSettings,
}

/// Why processing one thumbnail task stopped.
enum Stop {
    /// Nothing to do (already final, stale, superseded).
    Quiet,
    /// For good.
    Fail(String),
    /// For now.
    Retry(String),
    /// Not ready yet; look again within this long ([`TaskOutcome::RetryWithin`]).
    NotYet(String, std::time::Duration),
}

/// A port failure during a task: retried when it may pass (the backend is down, or
/// failed in a way KCL did not expect: the retries are bounded), failed for good
/// when retrying cannot help (not found, invalid, a conflict).
impl<E: PortError> From<E> for Stop {
    fn from(e: E) -> Self {
        match e.kind() {
            ErrorKind::Unavailable | ErrorKind::Internal => Stop::Retry(e.to_string()),
            _ => Stop::Fail(e.to_string()),
        }
    }
}

impl CoverService {
    /// The service over these ports.
    pub(crate) fn new(
        p: &super::Ports,
        catalog: Arc<CatalogService>,
        settings: CoverSettings,
    ) -> Self {
        Self {
            books: p.books.clone(),
            blobs: p.blobs.clone(),
            tasks: p.tasks.clone(),
            status: p.status.clone(),
            thumbnailer: p.thumbnailer.clone(),
            catalog,
            journal: Journal::new(p),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
            settings,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &CoverSettings {
        &self.settings
    }

    fn thumbnailer(&self) -> Result<&Arc<dyn Thumbnailer>, ServiceError> {
        self.thumbnailer.as_ref().ok_or_else(|| {
            ServiceError::NotEnabled(
                "covers need a thumbnailer: build with the `media` feature (on by default)".into(),
            )
        })
    }

    fn now_status(
        &self,
        key: &str,
        st: ProcessingState,
        msg: impl Into<String>,
    ) -> ProcessingStatus {
        ProcessingStatus::new(key, st, msg, self.clock.now())
    }

    /// Accepts a cover for a book: checks the bytes (type by magic bytes, byte,
    /// side and pixel limits, on the header only), stores the original, records
    /// PENDING, makes it the book's cover and queues the thumbnail task. A rejected
    /// upload stores nothing. The previous cover's files are removed once the new one
    /// is queued.
    pub async fn upload(
        &self,
        book_id: BookId,
        data: Bytes,
    ) -> Result<CoverAccepted, ServiceError> {
        let thumbnailer = self.thumbnailer()?.clone();
        if data.len() as u64 > self.settings.limits.max_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the upload has {} bytes; the limit is {}",
                data.len(),
                self.settings.limits.max_bytes
            )));
        }
        // The header is small; reading it is cheap enough for the runtime.
        let info = thumbnailer
            .probe(&data, &self.settings.limits)
            .map_err(ServiceError::from)?;
        self.books.get(book_id).await?;
        let key = CoverKey::new(book_id, self.ids.new_id()).original(info.format);
        self.blobs
            .put(&key, data, info.format.media_type())
            .await
            .map_err(ServiceError::from)?;
        crate::crash_point!("covers.upload.stored");
        let pending = self.now_status(key.as_str(), ProcessingState::Pending, "queued");
        let undo = |why: ServiceError| async {
            let _ = self.blobs.delete(&key).await;
            let _ = self.status.delete(key.as_str()).await;
            why
        };
        if let Err(e) = self.status.put(&pending, StatusCondition::Always).await {
            return Err(undo(ServiceError::from(e)).await);
        }
        // The task is queued before the cover is linked: a crash between the two
        // leaves a task whose cover never appears (it gives up, see
        // `make_thumbnail`), never a linked cover whose thumbnail never comes.
        let (bucket, object_key) = self.blobs.object_location(&key);
        let task = serde_json::to_string(&ThumbnailTask {
            bucket,
            key: object_key,
            request_id: crate::context::request_id(),
        })
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        if let Err(e) = self.tasks.send(&task).await {
            return Err(undo(ServiceError::Unavailable(Box::new(e))).await);
        }
        crate::crash_point!("covers.upload.queued");
        let cover = BookCover {
            original: key.to_string(),
            thumbnail: None,
        };
        let event = self.journal.event(
            AuditAction::CoverUploaded,
            EntityRef::book(book_id),
            &serde_json::json!({
                "key": key.as_str(),
                "format": info.format,
                "width": info.width,
                "height": info.height,
            }),
        );
        // (The queued task then finds no image and ends quietly.)
        let previous = match self
            .books
            .set_cover(book_id, Some(cover), None, Some(&event))
            .await
        {
            Ok(CoverSwap::Done { previous }) => previous,
            Ok(CoverSwap::Superseded) => None, // not possible without `if_original`
            Err(e) => return Err(undo(e.into()).await),
        };
        crate::crash_point!("covers.upload.linked");
        // (An S3 event for this very upload may have linked it already: keep it.)
        if let Some(old) = previous.filter(|p| p.original != key.as_str()) {
            self.remove_files(&old).await;
        }
        self.journal.committed(Touched::Catalog).await;
        Ok(CoverAccepted {
            key: key.to_string(),
            status: pending,
        })
    }

    /// Deletes a cover's files (best effort: a failure is logged; an orphan file is
    /// harmless). Their statuses stay, so a client polling an old key still learns
    /// how it ended.
    async fn remove_files(&self, cover: &BookCover) {
        for k in std::iter::once(&cover.original).chain(cover.thumbnail.iter()) {
            if let Ok(key) = BlobKey::parse(k) {
                if let Err(e) = self.blobs.delete(&key).await {
                    tracing::warn!(key = %k, error = %e, "could not delete a replaced cover file");
                }
            }
        }
    }

    /// The processing status of an object key. One still unfinished after
    /// [`CoverSettings::stale_after`] is recorded as `ERROR` first (its task was lost).
    pub async fn status(&self, key: &str) -> Result<ProcessingStatus, ServiceError> {
        let found = |st: Option<ProcessingStatus>| {
            st.ok_or_else(|| ServiceError::NotFound {
                entity: "status",
                id: key.to_owned(),
            })
        };
        let current = found(self.status.get(key).await.map_err(ServiceError::from)?)?;
        let now = self.clock.now();
        let stale = chrono::Duration::from_std(self.settings.stale_after)
            .is_ok_and(|limit| now - current.updated_at > limit);
        if current.status.is_final() || !stale {
            return Ok(current);
        }
        let hours = self.settings.stale_after.as_secs_f64() / 3600.0;
        let expired = self.now_status(
            key,
            ProcessingState::Error,
            format!(
                "no thumbnail {hours:.1} h after the upload: its task was lost; upload the cover again"
            ),
        );
        // Only over the state just read: a worker that moved on meanwhile wins.
        match self
            .status
            .put(&expired, StatusCondition::In(&[current.status]))
            .await
        {
            Ok(true) => {
                tracing::warn!(key, was = %current.status, "cover status expired: task lost");
                Ok(expired)
            }
            Ok(false) => found(self.status.get(key).await.map_err(ServiceError::from)?),
            Err(e) => {
                tracing::warn!(key, error = %e, "could not record an expired cover status");
                Ok(current)
            }
        }
    }

    /// A book's cover image (`thumbnail` false) or thumbnail: a URL to redirect to
    /// when the store has presigned URLs, else the bytes.
    pub async fn image(
        &self,
        book_id: BookId,
        thumbnail: bool,
    ) -> Result<CoverImage, ServiceError> {
        let book = self.catalog.get(book_id).await?;
        let key = book
            .cover
            .as_ref()
            .and_then(|c| {
                if thumbnail {
                    c.thumbnail.clone()
                } else {
                    Some(c.original.clone())
                }
            })
            .ok_or_else(|| ServiceError::NotFound {
                entity: if thumbnail { "thumbnail" } else { "cover" },
                id: book_id.to_string(),
            })?;
        let key = BlobKey::parse(&key).map_err(|e| ServiceError::Internal(Box::new(e)))?;
        if let Some(url) = self
            .blobs
            .presigned_get(&key, Duration::from_secs(300))
            .await
            .map_err(ServiceError::from)?
        {
            return Ok(CoverImage::Redirect(url));
        }
        Ok(CoverImage::Bytes(
            self.blobs.get(&key).await.map_err(ServiceError::from)?,
        ))
    }

    /// Processes one thumbnail task (see [`TaskHandler::handle`]).
    async fn process(&self, task: &ThumbnailTask) -> TaskOutcome {
        let Some(key) = self.blobs.key_of(&task.bucket, &task.key) else {
            return TaskOutcome::Failed(format!(
                "object {}/{} is not in this worker's store",
                task.bucket, task.key
            ));
        };
        let Some(cover) = CoverKey::parse_original(key.as_str()) else {
            let why =
                format!("{key} is not a cover upload key (uploads/{{book_id}}/{{uuid}}.{{ext}})");
            if key.as_str().starts_with("uploads/") {
                let st = self.now_status(key.as_str(), ProcessingState::Error, &why);
                let _ = self
                    .status
                    .put(
                        &st,
                        StatusCondition::AbsentOrIn(&[ProcessingState::Pending]),
                    )
                    .await;
            }
            return TaskOutcome::Failed(why);
        };
        match self.make_thumbnail(&key, cover).await {
            Ok(()) | Err(Stop::Quiet) => TaskOutcome::Done,
            Err(Stop::Retry(why)) => TaskOutcome::Retry(why),
            Err(Stop::NotYet(why, within)) => TaskOutcome::RetryWithin(why, within),
            Err(Stop::Fail(why)) => {
                let st = self.now_status(key.as_str(), ProcessingState::Error, &why);
                let unfinished = [ProcessingState::Pending, ProcessingState::Processing];
                match self
                    .status
                    .put(&st, StatusCondition::AbsentOrIn(&unfinished))
                    .await
                {
                    Ok(_) => TaskOutcome::Failed(why),
                    Err(e) => {
                        TaskOutcome::Retry(format!("{why}; and the status could not be set: {e}"))
                    }
                }
            }
        }
    }

    /// Whether the book of `cover` has a cover uploaded after it (upload ids are
    /// time-ordered UUIDs); a cover dropped into the bucket under a name of its own
    /// counts as newer, as does a deleted book.
    async fn newer_cover_linked(&self, cover: &CoverKey) -> Result<bool, Stop> {
        let current = match self.books.get(cover.book_id).await {
            Ok(book) => book.cover,
            Err(BookRepoError::NotFound(_)) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        let Some(current) = current else {
            return Ok(false);
        };
        let upload = |id: &str| uuid::Uuid::parse_str(id).ok();
        let theirs = CoverKey::parse_original(&current.original).and_then(|c| upload(&c.upload_id));
        Ok(match (theirs, upload(&cover.upload_id)) {
            (Some(theirs), Some(ours)) => theirs > ours,
            _ => true,
        })
    }

    async fn make_thumbnail(&self, key: &BlobKey, cover: CoverKey) -> Result<(), Stop> {
        let thumbnailer = self.thumbnailer.clone().ok_or_else(|| {
            Stop::Retry("this worker has no thumbnailer (feature `media`)".into())
        })?;
        let before = self.status.get(key.as_str()).await?;
        if before.as_ref().is_some_and(|s| s.status.is_final()) {
            return Err(Stop::Quiet); // a repeated delivery: already done
        }
        // Dropped straight into the bucket (an S3 event): there is no status yet.
        let dropped_in = before.is_none();
        // An object dropped into the bucket skipped the upload's checks: look at its
        // size before reading it into memory.
        let meta = self.blobs.head(key).await.ok();
        if let Some(meta) = &meta {
            if meta.size > self.settings.limits.max_bytes {
                return Err(Stop::Fail(format!(
                    "the image has {} bytes; the limit is {}",
                    meta.size, self.settings.limits.max_bytes
                )));
            }
        }
        let blob: Blob = match self.blobs.get(key).await {
            Ok(b) => b,
            Err(BlobStoreError::NotFound(_)) if dropped_in => return Err(Stop::Quiet),
            Err(BlobStoreError::NotFound(_)) => {
                let current = self.books.get(cover.book_id).await?.cover;
                let why = if current.is_some_and(|c| c.original != key.as_str()) {
                    "replaced by a newer cover before its thumbnail was made"
                } else {
                    "the uploaded image no longer exists"
                };
                return Err(Stop::Fail(why.into()));
            }
            Err(e) => return Err(e.into()),
        };
        let working = self.now_status(key.as_str(), ProcessingState::Processing, "");
        let unfinished = [ProcessingState::Pending, ProcessingState::Processing];
        if !self
            .status
            .put(&working, StatusCondition::AbsentOrIn(&unfinished))
            .await?
        {
            return Err(Stop::Quiet);
        }
        let (size, limits) = (self.settings.thumb_size, self.settings.limits);
        let made =
            tokio::task::spawn_blocking(move || thumbnailer.thumbnail(&blob.data, size, &limits))
                .await
                .map_err(|e| Stop::Fail(format!("the thumbnailer crashed: {e}")))?
                .map_err(|e| match e {
                    ImageError::Internal(e) => Stop::Retry(format!("thumbnailer failure: {e}")),
                    other => Stop::Fail(other.to_string()),
                })?;
        let thumb_key = cover.thumbnail(made.format);
        let (w, h) = (made.width, made.height);
        self.blobs
            .put(&thumb_key, made.data, made.format.media_type())
            .await?;
        let linked = BookCover {
            original: key.to_string(),
            thumbnail: Some(thumb_key.to_string()),
        };
        let if_original = (!dropped_in).then(|| key.to_string());
        let event = self.journal.event(AuditAction::ThumbnailCreated, EntityRef::book(cover.book_id),
            &serde_json::json!({"key": key.as_str(), "thumbnail": thumb_key.as_str(), "width": w, "height": h}),
        );
        let message = match self
            .books
            .set_cover(cover.book_id, Some(linked), if_original, Some(&event))
            .await
        {
            Ok(CoverSwap::Done { previous }) => {
                if dropped_in {
                    if let Some(old) = previous.filter(|p| p.original != key.as_str()) {
                        self.remove_files(&old).await;
                    }
                }
                format!("thumbnail {thumb_key} ({w}x{h})")
            }
            Ok(CoverSwap::Superseded) => {
                // Its upload queues the task before linking the cover: a book whose
                // cover is older than this upload (or that has none) is not linked
                // yet. Try again later; an upload that never links it (its request
                // failed or crashed) runs out of attempts.
                if !self.newer_cover_linked(&cover).await? {
                    let _ = self.blobs.delete(&thumb_key).await;
                    let uploaded = meta.as_ref().map(|m| m.last_modified);
                    let left = uploaded.map(|at| LINK_GRACE - (self.clock.now() - at));
                    if let Some(left) = left.filter(|left| *left > chrono::Duration::zero()) {
                        return Err(Stop::NotYet(
                            format!("the cover {key} is not linked to its book yet"),
                            recheck_within(left),
                        ));
                    }
                    return Err(Stop::Fail(
                        "its upload did not finish: the cover was never linked to its book".into(),
                    ));
                }
                let _ = self.blobs.delete(&thumb_key).await;
                "superseded by a newer cover".to_owned()
            }
            Err(BookRepoError::NotFound(id)) => {
                let _ = self.blobs.delete(&thumb_key).await;
                return Err(Stop::Fail(format!("book {id} no longer exists")));
            }
            Err(e) => return Err(e.into()),
        };
        crate::crash_point!("covers.thumbnail.linked");
        let done = self.now_status(key.as_str(), ProcessingState::Done, message);
        self.status
            .put(&done, StatusCondition::In(&[ProcessingState::Processing]))
            .await?;
        self.journal.committed(Touched::Catalog).await;
        Ok(())
    }
}

/// How long after its upload a cover's task waits for the upload to link the cover
/// to its book: the upload queues the task first, then links the cover, within
/// milliseconds unless its request failed or its server died in between.
const LINK_GRACE: chrono::Duration = chrono::Duration::seconds(60);

/// When a task waiting out a grace period with `left` to go should look again: just
/// after the grace ends (then it knows for sure), and at least a second from now.
pub(crate) fn recheck_within(left: chrono::Duration) -> std::time::Duration {
    left.to_std().unwrap_or_default() + std::time::Duration::from_secs(1)
}

/// A cover image to answer with.
#[derive(Debug)]
pub enum CoverImage {
    /// Redirect the client here (a presigned URL).
    Redirect(String),
    /// Serve these bytes.
    Bytes(Blob),
}

#[async_trait]
impl TaskHandler for CoverService {
    fn kind(&self) -> &'static str {
        "thumbnail"
    }

    async fn handle(&self, body: &str) -> TaskOutcome {
        let tasks = match TaskMessage::decode(body) {
            Ok(TaskMessage::TestEvent) => return TaskOutcome::Done,
            Ok(TaskMessage::Thumbnails(tasks)) => tasks,
            Err(e) => return TaskOutcome::Failed(e.to_string()),
        };
        // An S3 event may hold several records: retry if any needs it.
        let mut outcome = TaskOutcome::Done;
        for task in tasks.iter().filter(|t| {
            // S3 events for thumbnails KCL wrote itself are not tasks.
            !t.key.contains("thumb/")
        }) {
            outcome = outcome.and(self.process(task).await);
        }
        outcome
    }

    async fn give_up(&self, body: &str, reason: &str) {
        let Ok(TaskMessage::Thumbnails(tasks)) = TaskMessage::decode(body) else {
            return;
        };
        for t in tasks {
            if let Some(key) = self.blobs.key_of(&t.bucket, &t.key) {
                let st = self.now_status(
                    key.as_str(),
                    ProcessingState::Error,
                    format!("gave up after repeated failures: {reason}"),
                );
                let unfinished = [ProcessingState::Pending, ProcessingState::Processing];
                if let Err(e) = self
                    .status
                    .put(&st, StatusCondition::AbsentOrIn(&unfinished))
                    .await
                {
                    tracing::error!(key = %key, error = %e, "could not record a failed task");
                }
            }
        }
    }
}
