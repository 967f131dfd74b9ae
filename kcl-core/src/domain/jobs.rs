//! OCR jobs: a named set of images, each read by a worker.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ValidationError;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct JobId(pub Uuid);

/// An item's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ItemId(pub Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an item (or, derived, a job) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemStatus {
    /// Stored and queued.
    Pending,
    /// A worker is reading it.
    Processing,
    /// Read; `text` and `confidence` are set.
    Done,
    /// Could not be read; `error` says why.
    Error,
    /// Its retention deadline passed before it was read.
    Expired,
}

impl ItemStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Processing,
        Self::Done,
        Self::Error,
        Self::Expired,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing => "PROCESSING",
            Self::Done => "DONE",
            Self::Error => "ERROR",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether nothing will change it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Processing)
    }
}

/// How many items of a job are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    /// PENDING items.
    pub pending: u64,
    /// PROCESSING items.
    pub processing: u64,
    /// DONE items.
    pub done: u64,
    /// ERROR items.
    pub error: u64,
    /// EXPIRED items.
    pub expired: u64,
}

impl StatusCounts {
    /// Counts a list of statuses.
    pub fn of(statuses: impl IntoIterator<Item = ItemStatus>) -> Self {
        let mut c = Self::default();
        for s in statuses {
            c.add(s, 1);
        }
        c
    }

    /// Adds `n` items in status `s`.
    pub fn add(&mut self, s: ItemStatus, n: u64) {
        match s {
            ItemStatus::Pending => self.pending += n,
            ItemStatus::Processing => self.processing += n,
            ItemStatus::Done => self.done += n,
            ItemStatus::Error => self.error += n,
            ItemStatus::Expired => self.expired += n,
        }
    }

    /// Items in all.
    pub fn total(&self) -> u64 {
        self.pending + self.processing + self.done + self.error + self.expired
    }

    /// The job's status, derived from its items (the rule in `docs/ocr.md`):
    /// while any item is unfinished, `PENDING` if none has started or finished,
    /// else `PROCESSING`; once all are final, `ERROR` if any failed, else
    /// `EXPIRED` if any expired, else `DONE`.
    ///
    /// ```
    /// use kcl_core::domain::{ItemStatus::*, StatusCounts};
    /// assert_eq!(StatusCounts::of([Pending, Pending]).job_status(), Pending);
    /// assert_eq!(StatusCounts::of([Pending, Done]).job_status(), Processing);
    /// assert_eq!(StatusCounts::of([Done, Done]).job_status(), Done);
    /// assert_eq!(StatusCounts::of([Done, Error, Expired]).job_status(), Error);
    /// assert_eq!(StatusCounts::of([Done, Expired]).job_status(), Expired);
    /// ```
    pub fn job_status(&self) -> ItemStatus {
        if self.pending + self.processing > 0 {
            if self.processing + self.done + self.error + self.expired > 0 {
                ItemStatus::Processing
            } else {
                ItemStatus::Pending
            }
        } else if self.error > 0 {
            ItemStatus::Error
        } else if self.expired > 0 {
            ItemStatus::Expired
        } else {
            ItemStatus::Done
        }
    }
}

/// An OCR job: a named batch of images whose text is read by the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// The job's id, given when the job is created.
    pub id: JobId,
    /// Name (1 to 200 characters).
    pub name: String,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last rename (UTC).
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// The longest name, in characters.
    pub const MAX_NAME_CHARS: usize = 200;

    /// Checks and trims a job name.
    pub fn check_name(name: &str) -> Result<String, ValidationError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS {
            return Err(ValidationError::field(
                "name",
                "bad-length",
                "must have 1 to 200 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::field(
                "name",
                "control-characters",
                "must not contain control characters",
            ));
        }
        Ok(name.to_owned())
    }
}

/// One image of a job, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobItem {
    /// The item's id, unique across jobs.
    pub id: ItemId,
    /// The job the image belongs to.
    pub job_id: JobId,
    /// Blob key of the image: `jobs/{job_id}/{item_id}.{ext}`.
    pub key: String,
    /// SHA-256 of the image, hex.
    pub content_hash: String,
    /// The earlier item of the same job with the same content: this one is not read
    /// again but takes that item's result.
    pub duplicate_of: Option<ItemId>,
    /// Where the item stands: PENDING, PROCESSING, DONE, ERROR or EXPIRED.
    pub status: ItemStatus,
    /// The text read (DONE).
    pub text: Option<String>,
    /// Mean confidence, 0 to 100 (DONE).
    pub confidence: Option<f32>,
    /// Why it failed (ERROR, EXPIRED).
    pub error: Option<String>,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Retention deadline: unfinished by then, it becomes EXPIRED (UTC).
    pub expires_at: DateTime<Utc>,
    /// Last status change (UTC).
    pub updated_at: DateTime<Utc>,
}

impl JobItem {
    /// The `error` of an item that expired.
    pub const EXPIRED_MESSAGE: &'static str = "the retention deadline passed before it was read";
}

/// How a worker finished an item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemResult {
    /// The engine read the image.
    Done {
        /// The text it read (may be empty: an image without text).
        text: String,
        /// Mean confidence, 0 to 100.
        confidence: f32,
    },
    /// Failed for good.
    Error(String),
}

/// The OCR task on the queue (the seed's message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcrTask {
    /// The job the image belongs to.
    pub job_id: JobId,
    /// The item to read.
    pub item_id: ItemId,
    /// The bucket (`local` on the embedded profile).
    pub s3_bucket: String,
    /// The image's object key.
    pub s3_key: String,
    /// When the job was created (UTC, ISO-8601).
    pub created_at: DateTime<Utc>,
    /// The request that queued it, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
