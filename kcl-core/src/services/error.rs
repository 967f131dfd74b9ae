use crate::domain::ValidationError;
use crate::ports::{AuditLogError, BookRepoError, RentalRepoError};
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

impl From<BookRepoError> for ServiceError {
    fn from(e: BookRepoError) -> Self {
        match e {
            BookRepoError::NotFound(id) => Self::NotFound {
                entity: "book",
                id: id.to_string(),
            },
            BookRepoError::DuplicateIsbn(_) => Self::Conflict {
                code: "duplicate-isbn",
                message: e.to_string(),
            },
            BookRepoError::DuplicateId(_) => Self::Conflict {
                code: "duplicate-id",
                message: e.to_string(),
            },
            BookRepoError::VersionConflict { .. } => Self::Conflict {
                code: "version-conflict",
                message: e.to_string(),
            },
            BookRepoError::Rented { .. } => Self::Conflict {
                code: "book-rented",
                message: e.to_string(),
            },
            BookRepoError::InvalidInput(m) => {
                Self::Invalid(ValidationError::field("query", "invalid", m))
            }
            BookRepoError::Unavailable(s) => Self::Unavailable(s),
            BookRepoError::Internal(s) => Self::Internal(s),
        }
    }
}

impl From<RentalRepoError> for ServiceError {
    fn from(e: RentalRepoError) -> Self {
        match e {
            RentalRepoError::NotFound(id) => Self::NotFound {
                entity: "rental",
                id: id.to_string(),
            },
            RentalRepoError::BookNotFound(id) => Self::NotFound {
                entity: "book",
                id: id.to_string(),
            },
            RentalRepoError::NoCopyAvailable(_) => Self::Conflict {
                code: "no-copy-available",
                message: e.to_string(),
            },
            RentalRepoError::DuplicateId(_) => Self::Conflict {
                code: "duplicate-id",
                message: e.to_string(),
            },
            RentalRepoError::InvalidInput(m) => {
                Self::Invalid(ValidationError::field("query", "invalid", m))
            }
            RentalRepoError::Unavailable(s) => Self::Unavailable(s),
            RentalRepoError::Internal(s) => Self::Internal(s),
        }
    }
}

impl From<AuditLogError> for ServiceError {
    fn from(e: AuditLogError) -> Self {
        match e {
            AuditLogError::InvalidInput(m) => {
                Self::Invalid(ValidationError::field("query", "invalid", m))
            }
            AuditLogError::Unavailable(s) => Self::Unavailable(s),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<crate::ports::JobRepoError> for ServiceError {
    fn from(e: crate::ports::JobRepoError) -> Self {
        use crate::ports::JobRepoError as E;
        match e {
            E::NotFound(id) => Self::NotFound {
                entity: "job",
                id: id.to_string(),
            },
            E::Duplicate(_) => Self::Conflict {
                code: "duplicate-id",
                message: e.to_string(),
            },
            E::InvalidInput(m) => Self::Invalid(ValidationError::field("job", "invalid", m)),
            E::Unavailable(s) => Self::Unavailable(s),
            E::Internal(s) => Self::Internal(s),
        }
    }
}
