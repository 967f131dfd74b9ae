//! OCR jobs: validated uploads, one task per distinct image, honest statuses,
//! cascade delete, and the worker's side.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::journal::{Journal, Touched, MAX_HISTORY};
use super::{ServiceError, TaskHandler, TaskOutcome};
use crate::domain::{
    AuditAction, AuditEvent, EntityRef, ItemId, ItemResult, ItemStatus, Job, JobId, JobItem,
    OcrTask, StatusCounts, ValidationError,
};
use crate::ports::{
    AuditLog, BlobKey, BlobStore, BlobStoreError, Clock, IdSource, ImageError, ImageLimits,
    ItemStart, JobRepo, OcrEngine, OcrError, TaskQueue, Thumbnailer,
};

/// OCR job settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobSettings {
    /// Limits each image must respect (checked on the header).
    pub limits: ImageLimits,
    /// Most images in one job (`KCL_JOB_MAX_IMAGES`, default 50).
    pub max_images: usize,
    /// Most bytes of images in one request (`KCL_JOB_MAX_BYTES`, default 100 MiB).
    pub max_total_bytes: u64,
    /// How long an item may stay unfinished before it is EXPIRED
    /// (`KCL_JOB_RETENTION_SECS`, default 2 days).
    pub retention: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            limits: ImageLimits::default(),
            max_images: 50,
            max_total_bytes: 100 * 1024 * 1024,
            retention: Duration::from_secs(2 * 24 * 3600),
        }
    }
}

/// A job as callers see it: the job, its items, counts and derived status.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// Derived from the items (see [`StatusCounts::job_status`]).
    pub status: ItemStatus,
    /// Items per status.
    pub counts: StatusCounts,
    /// The items (empty in listings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<JobItem>,
}

/// A page of jobs.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobList {
    /// The jobs, newest first.
    pub items: Vec<JobView>,
    /// Jobs in all.
    pub total: u64,
    /// This page (from 1).
    pub page: u64,
    /// Jobs per page.
    pub per_page: u32,
}

/// OCR jobs.
pub struct JobService {
    jobs: Arc<dyn JobRepo>,
    blobs: Arc<dyn BlobStore>,
    tasks: Arc<dyn TaskQueue>,
    audit: Arc<dyn AuditLog>,
    journal: Journal,
    thumbnailer: Option<Arc<dyn Thumbnailer>>,
    ocr: Option<Arc<dyn OcrEngine>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    settings: JobSettings,
}

/// How long a task whose job is not found may be ahead of its job's recording
/// (the request queues the tasks first) before it counts as the task of a deleted
/// job.
const JOB_RECORDING_GRACE: chrono::Duration = chrono::Duration::minutes(2);

fn view(job: Job, items: Vec<JobItem>) -> JobView {
    let counts = StatusCounts::of(items.iter().map(|i| i.status));
    JobView {
        job,
        status: counts.job_status(),
        counts,
        items,
    }
}

fn field(name: &str, code: &'static str, msg: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(ValidationError::field(name, code, msg))
}

impl JobService {
    /// The service over these ports.
    pub(crate) fn new(p: &super::Ports, settings: JobSettings) -> Self {
        Self {
            jobs: p.jobs.clone(),
            blobs: p.blobs.clone(),
            tasks: p.ocr_tasks.clone(),
            audit: p.audit.clone(),
            journal: super::journal::Journal::new(p),
            thumbnailer: p.thumbnailer.clone(),
            ocr: p.ocr.clone(),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
            settings,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    /// The OCR engine's description, or `None` when this build has none.
    pub fn engine(&self) -> Option<String> {
        self.ocr.as_ref().map(|o| o.describe())
    }

    fn enabled(&self) -> Result<&Arc<dyn Thumbnailer>, ServiceError> {
        if self.ocr.is_none() {
            return Err(ServiceError::NotEnabled(
                "OCR is not enabled in this build: build with `--features tesseract` \
                 (needs libtesseract-dev, libleptonica-dev, tesseract-ocr-eng, clang) and \
                 run with OMP_THREAD_LIMIT=1"
                    .into(),
            ));
        }
        self.thumbnailer.as_ref().ok_or_else(|| {
            ServiceError::NotEnabled("OCR needs the `media` feature (image validation)".into())
        })
    }

    /// Creates a job from its images: all are checked first (type by magic bytes,
    /// byte, side and pixel limits, 1 to `max_images` of them), then stored, the job
    /// recorded and one task queued per distinct image (an image repeated in the job
    /// is read once and its text shared). If storing, recording or queueing fails,
    /// what was done is undone and nothing is left that could never finish.
    pub async fn create(&self, name: &str, images: Vec<Bytes>) -> Result<JobView, ServiceError> {
        let probe = self.enabled()?.clone();
        let name = Job::check_name(name)?;
        if images.is_empty() {
            return Err(field(
                "images",
                "required",
                "a job needs at least one image",
            ));
        }
        if images.len() > self.settings.max_images {
            return Err(ServiceError::TooLarge(format!(
                "{} images; a job takes at most {}",
                images.len(),
                self.settings.max_images
            )));
        }
        let total: u64 = images.iter().map(|i| i.len() as u64).sum();
        if total > self.settings.max_total_bytes {
            return Err(ServiceError::TooLarge(format!(
                "{total} bytes of images; a job takes at most {}",
                self.settings.max_total_bytes
            )));
        }
        let mut formats = Vec::with_capacity(images.len());
        for (i, img) in images.iter().enumerate() {
            let info = probe.probe(img, &self.settings.limits).map_err(|e| {
                let at = format!("images[{i}]");
                match e {
                    ImageError::Unsupported(m) => {
                        ServiceError::UnsupportedMedia(format!("{at}: {m}"))
                    }
                    ImageError::TooLarge(m) => ServiceError::TooLarge(format!("{at}: {m}")),
                    ImageError::Corrupt(m) => field(&at, "corrupt-image", m),
                    other => ServiceError::Internal(Box::new(other)),
                }
            })?;
            formats.push(info.format);
        }
        let now = self.clock.now();
        let job = Job {
            id: JobId(self.ids.new_id()),
            name,
            created_at: now,
            updated_at: now,
        };
        let expires_at = now
            + chrono::Duration::from_std(self.settings.retention)
                .unwrap_or(chrono::Duration::days(2));
        // Hashing up to 100 MiB is CPU work: off the async runtime.
        let to_hash = images.clone();
        let hashes = tokio::task::spawn_blocking(move || {
            to_hash
                .iter()
                .map(|i| hex::encode(Sha256::digest(i)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        let mut first_by_hash: HashMap<String, ItemId> = HashMap::new();
        let mut items = Vec::with_capacity(images.len());
        for (hash, format) in hashes.into_iter().zip(&formats) {
            let id = ItemId(self.ids.new_id());
            let duplicate_of = first_by_hash.get(&hash).copied();
            first_by_hash.entry(hash.clone()).or_insert(id);
            items.push(JobItem {
                id,
                job_id: job.id,
                key: format!("jobs/{}/{}.{}", job.id, id, format.extension()),
                content_hash: hash,
                duplicate_of,
                status: ItemStatus::Pending,
                text: None,
                confidence: None,
                error: None,
                created_at: now,
                expires_at,
                updated_at: now,
            });
        }
        // Store the images (a duplicate is stored too: each item has its own file).
        let mut stored = Vec::new();
        for ((item, img), format) in items.iter().zip(images).zip(&formats) {
            let key = BlobKey::parse(&item.key).map_err(|e| ServiceError::Internal(Box::new(e)))?;
            if let Err(e) = self.blobs.put(&key, img, format.media_type()).await {
                self.remove_blobs(&stored).await;
                return Err(e.into());
            }
            stored.push(key);
        }
        // The tasks are queued before the job is recorded: a crash between the two
        // leaves tasks that find no job (they wait a little, then end: see `run`),
        // never a recorded job whose items wait for tasks that never come.
        let request_id = crate::context::request_id();
        let bodies: Vec<String> = items
            .iter()
            .filter(|i| i.duplicate_of.is_none())
            .map(|i| {
                let key = BlobKey::parse(&i.key).expect("checked above");
                let (bucket, object_key) = self.blobs.object_location(&key);
                serde_json::to_string(&OcrTask {
                    job_id: job.id,
                    item_id: i.id,
                    s3_bucket: bucket,
                    s3_key: object_key,
                    created_at: job.created_at,
                    request_id: request_id.clone(),
                })
                .expect("a task serializes")
            })
            .collect();
        let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
        match self.tasks.send_batch(&refs).await {
            Ok(messages) => {
                tracing::info!(job = %job.id, ?messages, "OCR job: its tasks are queued");
            }
            Err(e) => {
                // Tasks already sent find no job and end quietly.
                self.remove_blobs(&stored).await;
                return Err(e.into());
            }
        }
        crate::crash_point!("jobs.create.queued");
        let distinct = items.iter().filter(|i| i.duplicate_of.is_none()).count();
        let created = self.journal.event(
            AuditAction::Created,
            EntityRef::job(job.id),
            &serde_json::json!({"name": job.name, "images": items.len(), "distinct": distinct}),
        );
        if let Err(e) = self.jobs.create(&job, &items, &created).await {
            self.remove_blobs(&stored).await;
            return Err(e.into());
        }
        crate::crash_point!("jobs.create.recorded");
        self.journal.committed(Touched::Other).await;
        Ok(view(job, items))
    }

    async fn remove_blobs(&self, keys: &[BlobKey]) {
        for k in keys {
            if let Err(e) = self.blobs.delete(k).await {
                tracing::warn!(key = %k, error = %e, "could not delete a job image");
            }
        }
    }

    /// A job with its items.
    pub async fn get(&self, id: JobId) -> Result<JobView, ServiceError> {
        let (job, items) = self.jobs.get(id).await?;
        Ok(view(job, items))
    }

    /// A page of jobs (page from 1; 1 to 100 per page), newest first.
    pub async fn list(
        &self,
        page: Option<u64>,
        per_page: Option<u32>,
    ) -> Result<JobList, ServiceError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        if page == 0 || page > 1_000_000 {
            return Err(field("page", "out-of-range", "must be from 1 to 1000000"));
        }
        if !(1..=100).contains(&per_page) {
            return Err(field("per_page", "out-of-range", "must be from 1 to 100"));
        }
        let found = self
            .jobs
            .list((page - 1) * u64::from(per_page), per_page)
            .await?;
        Ok(JobList {
            items: found
                .jobs
                .into_iter()
                .map(|(job, counts)| JobView {
                    job,
                    status: counts.job_status(),
                    counts,
                    items: Vec::new(),
                })
                .collect(),
            total: found.total,
            page,
            per_page,
        })
    }

    /// Renames a job.
    pub async fn rename(&self, id: JobId, name: &str) -> Result<JobView, ServiceError> {
        let name = Job::check_name(name)?;
        let event = self.journal.event(
            AuditAction::Updated,
            EntityRef::job(id),
            &serde_json::json!({"name": name}),
        );
        let job = self
            .jobs
            .rename(id, &name, self.clock.now(), &event)
            .await?;
        self.journal.committed(Touched::Other).await;
        self.get(job.id).await
    }

    /// Deletes a job, its items and images; its pending tasks are then acked quietly.
    pub async fn delete(&self, id: JobId) -> Result<(), ServiceError> {
        // The event records the job as read just before (its name and images
        // cannot change but by a rename, which its own event records).
        let (before, before_items) = self.jobs.get(id).await?;
        let event = self.journal.event(
            AuditAction::Deleted,
            EntityRef::job(id),
            &serde_json::json!({"name": before.name, "images": before_items.len()}),
        );
        let (_, items) = self.jobs.delete(id, &event).await?;
        self.journal.committed(Touched::Other).await;
        let keys: Vec<BlobKey> = items
            .iter()
            .filter_map(|i| BlobKey::parse(&i.key).ok())
            .collect();
        self.remove_blobs(&keys).await;
        Ok(())
    }

    /// A job's history, oldest first (kept after the job is deleted).
    pub async fn history(&self, id: JobId, limit: u32) -> Result<Vec<AuditEvent>, ServiceError> {
        self.journal.history(&EntityRef::job(id), limit).await
    }

    /// Whether job `id` was deleted (its history says so; a history that cannot be
    /// read counts as not deleted, so the task waits and asks again).
    async fn was_deleted(&self, id: JobId) -> bool {
        self.audit
            .history(&EntityRef::job(id), MAX_HISTORY)
            .await
            .is_ok_and(|events| events.iter().any(|e| e.action == AuditAction::Deleted))
    }

    /// Marks EXPIRED every unfinished item past its deadline; returns how many. The
    /// server runs it every minute.
    pub async fn sweep(&self) -> Result<u64, ServiceError> {
        let journal = &self.journal;
        let event = |job: JobId, item: ItemId| {
            journal.event(
                AuditAction::ItemExpired,
                EntityRef::job(job),
                &serde_json::json!({ "item": item }),
            )
        };
        let expired = self.jobs.expire(self.clock.now(), &event).await?;
        if expired > 0 {
            self.journal.committed(Touched::Other).await;
        }
        Ok(expired)
    }

    /// The `item_done` / `item_error` event of `item`'s result, `started` when it
    /// went to PROCESSING (for `seconds`), if known.
    fn finished_event(
        &self,
        job: JobId,
        item: ItemId,
        result: &ItemResult,
        started: Option<chrono::DateTime<chrono::Utc>>,
    ) -> AuditEvent {
        let (action, data) = match result {
            ItemResult::Done { confidence, .. } => {
                let seconds = started.map(|s| {
                    let ms = (self.clock.now() - s).num_milliseconds().max(0);
                    ms as f64 / 1000.0
                });
                (
                    AuditAction::ItemDone,
                    serde_json::json!({ "item": item, "confidence": confidence, "seconds": seconds }),
                )
            }
            ItemResult::Error(reason) => (
                AuditAction::ItemError,
                serde_json::json!({ "item": item, "reason": reason }),
            ),
        };
        self.journal.event(action, EntityRef::job(job), &data)
    }

    async fn run(&self, task: &OcrTask) -> TaskOutcome {
        // Its job is recorded right after its tasks are queued: a task picked up at
        // once may be a few milliseconds ahead. Look again for a moment before
        // handing it back to the queue (whose redelivery takes much longer).
        let processing = self.journal.event(
            AuditAction::ItemProcessing,
            EntityRef::job(task.job_id),
            &serde_json::json!({ "item": task.item_id }),
        );
        let mut started = self
            .jobs
            .start_item(task.job_id, task.item_id, self.clock.now(), &processing)
            .await;
        for _ in 0..20 {
            if !matches!(started, Ok(ItemStart::Gone))
                || self.clock.now() - task.created_at >= JOB_RECORDING_GRACE
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            started = self
                .jobs
                .start_item(task.job_id, task.item_id, self.clock.now(), &processing)
                .await;
        }
        let item = match started {
            Ok(ItemStart::Started(item)) => {
                self.journal.committed(Touched::Other).await;
                item
            }
            // Its job is queued before it is recorded: a young task may be ahead of
            // its job. Older, the job was deleted or never recorded (its request
            // failed): nothing to do.
            Ok(ItemStart::Gone)
                if self.clock.now() - task.created_at < JOB_RECORDING_GRACE
                    && !self.was_deleted(task.job_id).await =>
            {
                let left = JOB_RECORDING_GRACE - (self.clock.now() - task.created_at);
                return TaskOutcome::RetryWithin(
                    format!("job {} is not recorded yet", task.job_id),
                    super::covers::recheck_within(left),
                );
            }
            // Deleted job, or done already (a repeated task): nothing to do.
            Ok(start @ (ItemStart::Gone | ItemStart::Final(_))) => {
                let why = match start {
                    ItemStart::Gone => "its job was deleted, or never recorded",
                    _ => "the item is finished already",
                };
                tracing::info!(job = %task.job_id, item = %task.item_id, why, "OCR task: nothing to do");
                return TaskOutcome::Done;
            }
            Err(e) => return TaskOutcome::Retry(e.to_string()),
        };
        crate::crash_point!("jobs.item.started");
        let Some(ocr) = self.ocr.clone() else {
            return TaskOutcome::Retry(
                "this worker has no OCR engine (feature `tesseract`)".into(),
            );
        };
        let result = match BlobKey::parse(&item.key) {
            Err(e) => ItemResult::Error(format!("bad image key: {e}")),
            Ok(key) => match self.blobs.get(&key).await {
                Err(BlobStoreError::NotFound(_)) => {
                    ItemResult::Error("the image no longer exists".into())
                }
                Err(e) => return TaskOutcome::Retry(format!("storage: {e}")),
                Ok(blob) => {
                    let read = tokio::task::spawn_blocking(move || ocr.recognize(&blob.data)).await;
                    match read {
                        Ok(Ok(t)) => ItemResult::Done {
                            text: t.text,
                            confidence: t.confidence,
                        },
                        Ok(Err(OcrError::Corrupt(m))) => ItemResult::Error(m),
                        Ok(Err(e)) => return TaskOutcome::Retry(e.to_string()),
                        Err(e) => ItemResult::Error(format!("the OCR engine crashed: {e}")),
                    }
                }
            },
        };
        let failed = match &result {
            ItemResult::Error(m) => Some(m.clone()),
            ItemResult::Done { .. } => None,
        };
        let finished =
            self.finished_event(task.job_id, task.item_id, &result, Some(item.updated_at));
        match self
            .jobs
            .finish_item(
                task.job_id,
                task.item_id,
                &result,
                self.clock.now(),
                &finished,
            )
            .await
        {
            Ok(changed) => {
                if changed > 0 {
                    self.journal.committed(Touched::Other).await;
                }
                match failed {
                    Some(m) => TaskOutcome::Failed(m),
                    None => TaskOutcome::Done,
                }
            }
            Err(e) => TaskOutcome::Retry(e.to_string()),
        }
    }
}

#[async_trait]
impl TaskHandler for JobService {
    fn kind(&self) -> &'static str {
        "ocr"
    }

    async fn handle(&self, body: &str) -> TaskOutcome {
        match serde_json::from_str::<OcrTask>(body) {
            Ok(task) => self.run(&task).await,
            Err(e) => TaskOutcome::Failed(format!("not an OCR task: {e}")),
        }
    }

    async fn give_up(&self, body: &str, reason: &str) {
        if let Ok(task) = serde_json::from_str::<OcrTask>(body) {
            let result = ItemResult::Error(format!("gave up after repeated failures: {reason}"));
            let event = self.finished_event(task.job_id, task.item_id, &result, None);
            match self
                .jobs
                .finish_item(task.job_id, task.item_id, &result, self.clock.now(), &event)
                .await
            {
                Ok(changed) if changed > 0 => self.journal.committed(Touched::Other).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(job = %task.job_id, item = %task.item_id, error = %e, "could not record a failed OCR task");
                }
            }
        }
    }
}
