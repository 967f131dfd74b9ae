use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ValidationError;
use crate::BoxError;

/// Where an object is in its processing (a cover's thumbnail, an OCR item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingState {
    /// Stored and waiting for a worker.
    Pending,
    /// A worker is on it.
    Processing,
    /// Finished successfully.
    Done,
    /// Failed for good; `message` says why.
    Error,
}

impl ProcessingState {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Processing, Self::Done, Self::Error];

    /// The stable name (`PENDING`, `PROCESSING`, `DONE`, `ERROR`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Processing => "PROCESSING",
            Self::Done => "DONE",
            Self::Error => "ERROR",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                ValidationError::field(
                    "status",
                    "unknown-status",
                    "must be one of: PENDING, PROCESSING, DONE, ERROR",
                )
            })
    }

    /// Whether the state is final (`DONE` or `ERROR`).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Error)
    }
}

impl fmt::Display for ProcessingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The processing status of one object, keyed by its object key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessingStatus {
    /// The object key (for example `uploads/{book_id}/{uuid}.jpg`).
    pub key: String,
    /// The state.
    pub status: ProcessingState,
    /// A human-readable note (the reason for `ERROR`; empty otherwise).
    pub message: String,
    /// When the status was last set (UTC).
    pub updated_at: DateTime<Utc>,
}

impl ProcessingStatus {
    /// The longest key, in bytes (S3's key limit).
    pub const MAX_KEY_BYTES: usize = 1024;
    /// The longest message, in bytes; longer messages are cut at a character boundary.
    pub const MAX_MESSAGE_BYTES: usize = 2048;

    /// A status record; the message is cut to [`Self::MAX_MESSAGE_BYTES`].
    pub fn new(
        key: impl Into<String>,
        status: ProcessingState,
        message: impl Into<String>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        let mut message = message.into();
        if message.len() > Self::MAX_MESSAGE_BYTES {
            let mut cut = Self::MAX_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        Self {
            key: key.into(),
            status,
            message,
            updated_at,
        }
    }

    /// Checks a key the same way in every adapter: 1 to 1024 bytes, no control characters.
    pub fn check_key(key: &str) -> Result<(), StatusStoreError> {
        if key.is_empty() || key.len() > Self::MAX_KEY_BYTES || key.chars().any(char::is_control) {
            return Err(StatusStoreError::InvalidInput(format!(
                "a status key has 1 to {} bytes and no control characters",
                Self::MAX_KEY_BYTES
            )));
        }
        Ok(())
    }
}

/// When a [`StatusStore::put`] may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCondition<'a> {
    /// Always (a new upload starts over).
    Always,
    /// Only when no status exists for the key.
    Absent,
    /// Only when the stored status is one of these (a missing status does not match).
    In(&'a [ProcessingState]),
    /// When no status exists or the stored one is one of these.
    AbsentOrIn(&'a [ProcessingState]),
}

impl StatusCondition<'_> {
    /// Whether a write is allowed over `current`.
    pub fn allows(&self, current: Option<ProcessingState>) -> bool {
        match (self, current) {
            (Self::Always, _) => true,
            (Self::Absent, c) => c.is_none(),
            (Self::In(states), Some(c)) | (Self::AbsentOrIn(states), Some(c)) => {
                states.contains(&c)
            }
            (Self::In(_), None) => false,
            (Self::AbsentOrIn(_), None) => true,
        }
    }
}

/// Why a [`StatusStore`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusStoreError {
    /// The key or message is not acceptable.
    #[error("invalid status request: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("status store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("status store failure: {0}")]
    Internal(#[source] BoxError),
}

/// Processing statuses by object key, with conditional writes so that a late or
/// repeated worker cannot turn a finished status back (the check and the write are
/// one atomic step in every adapter).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kcl_core::memory::MemoryStatusStore;
/// use kcl_core::ports::{ProcessingState::*, ProcessingStatus, StatusCondition, StatusStore};
/// let store = MemoryStatusStore::default();
/// let now = chrono::Utc::now();
/// let key = "uploads/1/a.jpg";
/// store.put(&ProcessingStatus::new(key, Pending, "", now), StatusCondition::Always).await?;
/// // A worker finishes only what is still pending or processing:
/// let done = ProcessingStatus::new(key, Done, "", now);
/// assert!(store.put(&done, StatusCondition::In(&[Pending, Processing])).await?);
/// let late = ProcessingStatus::new(key, Error, "redelivered", now);
/// assert!(!store.put(&late, StatusCondition::In(&[Pending, Processing])).await?);
/// assert_eq!(store.get(key).await?.unwrap().status, Done);
/// # Ok::<_, kcl_core::ports::StatusStoreError>(()) }).unwrap();
/// ```
#[async_trait]
pub trait StatusStore: Send + Sync {
    /// The status of `key`, if one was ever written.
    async fn get(&self, key: &str) -> Result<Option<ProcessingStatus>, StatusStoreError>;

    /// Writes `status` if `condition` holds for the stored status; returns whether it
    /// was written (`false`: the condition failed and nothing changed).
    async fn put(
        &self,
        status: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, StatusStoreError>;

    /// Forgets a key's status; deleting a missing status is not an error.
    async fn delete(&self, key: &str) -> Result<(), StatusStoreError>;
}
