//! What kind of failure a port error is, the same for every port and adapter.
//!
//! Each port keeps its own error enum, which names what that port can refuse (a
//! duplicate ISBN, a stale receipt...). [`PortError::kind`] says which of a few
//! kinds the failure is, so services and hosts decide from the kind alone (answer
//! 404, 409, 422, 503 with `Retry-After`, or 500; retry a task or fail it), and
//! [`StoreError`] lets adapters build the failures of their backend (a dropped
//! connection, a value the backend cannot hold) the same way for every port, keeping
//! the driver's or SDK's error as the `source`.
//!
//! ```
//! use kcl_core::ports::{BookRepoError, ErrorKind, PortError, StoreError};
//!
//! let down = BookRepoError::unavailable("connection refused".into());
//! assert_eq!(down.kind(), ErrorKind::Unavailable);
//! assert!(down.kind().is_retryable());
//! let taken = BookRepoError::DuplicateIsbn("9780306406157".parse().unwrap());
//! assert_eq!((taken.kind(), taken.code()), (ErrorKind::Conflict, "duplicate-isbn"));
//! ```

use crate::BoxError;

/// The kind of a port failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// What the request names does not exist.
    NotFound,
    /// The request conflicts with the stored state (a duplicate, a stale version,
    /// a rule such as "no copy available").
    Conflict,
    /// The request holds a value this port or its backend cannot take.
    InvalidInput,
    /// The backend cannot be reached or is overloaded right now: retrying later may
    /// succeed.
    Unavailable,
    /// The capability is not in this build or not configured.
    NotEnabled,
    /// Anything else: a bug, or the backend holds what KCL never writes.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable)
    }

    /// A stable kebab-case name (`not-found`, `conflict`, `invalid-input`,
    /// `unavailable`, `not-enabled`, `internal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::Conflict => "conflict",
            Self::InvalidInput => "invalid-input",
            Self::Unavailable => "unavailable",
            Self::NotEnabled => "not-enabled",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port's error: its kind, and what a client needs to act on it.
pub trait PortError: std::error::Error + Send + Sync + 'static {
    /// Which kind of failure this is.
    fn kind(&self) -> ErrorKind;

    /// A stable kebab-case code for clients; for conflicts, which one
    /// (`duplicate-isbn`, `version-conflict`...). The kind's name by default.
    fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// For [`ErrorKind::NotFound`]: what was not found (`book`, `object`...) and
    /// its id.
    fn subject(&self) -> Option<(&'static str, String)> {
        None
    }

    /// For [`ErrorKind::InvalidInput`]: the part of the request at fault (`query`,
    /// `file`, `key`...).
    fn input(&self) -> &'static str {
        "request"
    }
}

/// A port error that can carry a failure of the backend behind it: what adapters
/// build from a driver's or SDK's error, the same way for every port.
pub trait StoreError: PortError + Sized {
    /// The backend cannot be reached right now; retrying may succeed.
    fn unavailable(source: BoxError) -> Self;
    /// The request holds a value this backend cannot store or compare.
    fn invalid_input(message: String) -> Self;
    /// Anything else.
    fn internal(source: BoxError) -> Self;
}

/// `StoreError` for the enums with `Unavailable(BoxError)`, `InvalidInput(String)`
/// and `Internal(BoxError)` variants.
macro_rules! store_error {
    ($($ty:ty),* $(,)?) => {$(
        impl StoreError for $ty {
            fn unavailable(source: BoxError) -> Self {
                Self::Unavailable(source)
            }
            fn invalid_input(message: String) -> Self {
                Self::InvalidInput(message)
            }
            fn internal(source: BoxError) -> Self {
                Self::Internal(source)
            }
        }
    )*};
}

use super::{
    AuditLogError, BlobStoreError, BookRepoError, CacheError, CuratedError, EndedSessionsError,
    ImageError, JobRepoError, OcrError, QueueError, RentalRepoError, ReportError, SalesRepoError,
    StatusStoreError,
};

store_error!(
    AuditLogError,
    BlobStoreError,
    BookRepoError,
    CuratedError,
    EndedSessionsError,
    JobRepoError,
    QueueError,
    RentalRepoError,
    ReportError,
    SalesRepoError,
    StatusStoreError,
);

impl StoreError for CacheError {
    fn unavailable(source: BoxError) -> Self {
        Self::Unavailable(source)
    }
    fn invalid_input(message: String) -> Self {
        Self::InvalidKey(message)
    }
    fn internal(source: BoxError) -> Self {
        Self::Internal(source)
    }
}

impl PortError for AuditLogError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::DuplicateId(_) => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::DuplicateId(_) => "duplicate-id",
            other => other.kind().as_str(),
        }
    }
    fn input(&self) -> &'static str {
        "query"
    }
}

impl PortError for BlobStoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Self::NotFound(key) => Some(("object", key.to_string())),
            _ => None,
        }
    }
    fn input(&self) -> &'static str {
        "file"
    }
}

impl PortError for BookRepoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::DuplicateIsbn(_)
            | Self::DuplicateId(_)
            | Self::VersionConflict { .. }
            | Self::Rented { .. } => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::DuplicateIsbn(_) => "duplicate-isbn",
            Self::DuplicateId(_) => "duplicate-id",
            Self::VersionConflict { .. } => "version-conflict",
            Self::Rented { .. } => "book-rented",
            other => other.kind().as_str(),
        }
    }
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Self::NotFound(id) => Some(("book", id.to_string())),
            _ => None,
        }
    }
    fn input(&self) -> &'static str {
        "query"
    }
}

impl PortError for CacheError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidKey(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "key"
    }
}

impl PortError for EndedSessionsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "session"
    }
}

impl PortError for JobRepoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Duplicate(_) => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Duplicate(_) => "duplicate-id",
            other => other.kind().as_str(),
        }
    }
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Self::NotFound(id) => Some(("job", id.to_string())),
            _ => None,
        }
    }
    fn input(&self) -> &'static str {
        "job"
    }
}

impl PortError for OcrError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Corrupt(_) => ErrorKind::InvalidInput,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "file"
    }
}

impl PortError for QueueError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::StaleReceipt => ErrorKind::Conflict,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::StaleReceipt => "stale-receipt",
            other => other.kind().as_str(),
        }
    }
    fn input(&self) -> &'static str {
        "task"
    }
}

impl PortError for RentalRepoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) | Self::BookNotFound(_) => ErrorKind::NotFound,
            Self::NoCopyAvailable(_) | Self::DuplicateId(_) => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::NoCopyAvailable(_) => "no-copy-available",
            Self::DuplicateId(_) => "duplicate-id",
            other => other.kind().as_str(),
        }
    }
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Self::NotFound(id) => Some(("rental", id.to_string())),
            Self::BookNotFound(id) => Some(("book", id.to_string())),
            _ => None,
        }
    }
    fn input(&self) -> &'static str {
        "query"
    }
}

impl PortError for SalesRepoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            // The only conflict a sales store reports: another load of the same
            // file holds it.
            Self::Conflict(_) => "concurrent-load",
            other => other.kind().as_str(),
        }
    }
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Self::NotFound(what) => Some(("sales", what.clone())),
            _ => None,
        }
    }
    fn input(&self) -> &'static str {
        "query"
    }
}

impl PortError for StatusStoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "key"
    }
}

impl PortError for ImageError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unsupported(_) | Self::TooLarge(_) | Self::Corrupt(_) => ErrorKind::InvalidInput,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "unsupported-media-type",
            Self::TooLarge(_) => "too-large",
            Self::Corrupt(_) => "corrupt-image",
            Self::Internal(_) => "internal",
        }
    }
    fn input(&self) -> &'static str {
        "file"
    }
}

impl PortError for CuratedError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "file"
    }
}

impl PortError for ReportError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
    fn input(&self) -> &'static str {
        "report"
    }
}
