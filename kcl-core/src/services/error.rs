use crate::domain::ValidationError;
use crate::ports::{ErrorKind, PortError};
use crate::BoxError;

/// Why a service call failed: what a host turns into a status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The input is invalid; every bad field is listed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The entity does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// `book`, `rental`, ...
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable kebab-case code: `version-conflict`, `book-rented`,
        /// `no-copy-available`, `duplicate-isbn`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// The upload is not a type this endpoint takes (HTTP 415).
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The upload is over a size limit (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// A capability is not in this build or not configured (HTTP 503, with the
    /// message saying how to enable it).
    #[error("{0}")]
    NotEnabled(String),
    /// A dependency is unavailable; retrying later may succeed.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// An unexpected failure.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl ServiceError {
    /// A stable kebab-case code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation-failed",
            Self::NotFound { .. } => "not-found",
            Self::Conflict { code, .. } => code,
            Self::UnsupportedMedia(_) => "unsupported-media-type",
            Self::TooLarge(_) => "too-large",
            Self::NotEnabled(_) => "not-enabled",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

/// Every port error becomes a service error by its kind, here and nowhere else: not
/// found is 404 (naming what), a conflict 409 (with the port's code), invalid input
/// 422 (415 or 413 for an upload of the wrong type or size), not enabled and
/// unavailable 503, anything else 500. The port's error stays the `source`.
///
/// ```
/// use kcl_core::ports::{BlobKey, BlobStoreError, BookRepoError, StoreError};
/// use kcl_core::services::ServiceError;
///
/// let gone = ServiceError::from(BlobStoreError::NotFound(BlobKey::parse("a/b.jpg").unwrap()));
/// assert_eq!(gone.code(), "not-found");
/// let bad = ServiceError::from(BlobStoreError::invalid_input("key too long".into()));
/// assert_eq!(bad.code(), "validation-failed");
/// let down = ServiceError::from(BookRepoError::unavailable("connection refused".into()));
/// assert_eq!(down.code(), "unavailable");
/// ```
impl<E: PortError> From<E> for ServiceError {
    fn from(e: E) -> Self {
        match e.kind() {
            ErrorKind::NotFound => {
                let (entity, id) = e.subject().unwrap_or(("object", String::new()));
                Self::NotFound { entity, id }
            }
            ErrorKind::Conflict => Self::Conflict {
                code: e.code(),
                message: e.to_string(),
            },
            ErrorKind::InvalidInput => match e.code() {
                "unsupported-media-type" => Self::UnsupportedMedia(e.to_string()),
                "too-large" => Self::TooLarge(e.to_string()),
                code => Self::Invalid(ValidationError::field(
                    e.input(),
                    if code == ErrorKind::InvalidInput.as_str() {
                        "invalid"
                    } else {
                        code
                    },
                    e.to_string(),
                )),
            },
            ErrorKind::NotEnabled => Self::NotEnabled(e.to_string()),
            ErrorKind::Unavailable => Self::Unavailable(Box::new(e)),
            _ => Self::Internal(Box::new(e)),
        }
    }
}
