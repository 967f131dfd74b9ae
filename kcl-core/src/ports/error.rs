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

/// Implements [`PortError`] (and, with `store`, [`StoreError`]) for a port's error
/// enum from one table: each variant with its [`ErrorKind`], and where it has them
/// its own code (`as "duplicate-isbn"`) and what it names when not found
/// (`names "book" id`, `id` bound by the pattern). `store` adds the three variants
/// every store error has: `InvalidInput(String)`, `Unavailable(BoxError)` and
/// `Internal(BoxError)`.
macro_rules! port_error {
    (store $ty:ident, input $input:literal { $($arms:tt)* }) => {
        port_error!($ty, input $input {
            $($arms)*
            Self::InvalidInput(_) => InvalidInput;
            Self::Unavailable(_) => Unavailable;
            Self::Internal(_) => Internal;
        });

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
    };
    ($ty:ident, input $input:literal {
        $( $pat:pat => $kind:ident $(as $code:literal)? $(, names $what:literal $id:ident)? ; )*
    }) => {
        impl PortError for $ty {
            #[allow(unused_variables)]
            fn kind(&self) -> ErrorKind {
                match self {
                    $( $pat => ErrorKind::$kind, )*
                }
            }
            #[allow(unused_variables, unreachable_patterns)]
            fn code(&self) -> &'static str {
                match self {
                    $( $( $pat => $code, )? )*
                    other => other.kind().as_str(),
                }
            }
            #[allow(unused_variables, unreachable_patterns)]
            fn subject(&self) -> Option<(&'static str, String)> {
                match self {
                    $( $( $pat => Some(($what, $id.to_string())), )? )*
                    _ => None,
                }
            }
            fn input(&self) -> &'static str {
                $input
            }
        }
    };
}

use super::{
    AuditLogError, BlobStoreError, BookRepoError, CacheError, CuratedError, EndedSessionsError,
    ImageError, JobRepoError, OcrError, QueueError, RentalRepoError, ReplicationError, ReportError,
    ReportRunsError, SalesRepoError, StatusStoreError,
};

port_error!(store AuditLogError, input "query" {
    Self::DuplicateId(_) => Conflict as "duplicate-id";
});

port_error!(store BlobStoreError, input "file" {
    Self::NotFound(key) => NotFound, names "object" key;
});

port_error!(store BookRepoError, input "query" {
    Self::NotFound(id) => NotFound, names "book" id;
    Self::DuplicateIsbn(_) => Conflict as "duplicate-isbn";
    Self::DuplicateId(_) => Conflict as "duplicate-id";
    Self::VersionConflict { .. } => Conflict as "version-conflict";
    Self::Rented { .. } => Conflict as "book-rented";
});

port_error!(CacheError, input "key" {
    Self::InvalidKey(_) => InvalidInput;
    Self::Unavailable(_) => Unavailable;
    Self::Internal(_) => Internal;
});

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

port_error!(store CuratedError, input "file" {});

port_error!(store EndedSessionsError, input "session" {});

port_error!(store ReplicationError, input "position" {});

port_error!(store ReportRunsError, input "schedule" {});

port_error!(store JobRepoError, input "job" {
    Self::NotFound(id) => NotFound, names "job" id;
    Self::Duplicate(_) => Conflict as "duplicate-id";
});

port_error!(store QueueError, input "task" {
    Self::StaleReceipt => Conflict as "stale-receipt";
});

port_error!(store RentalRepoError, input "query" {
    Self::NotFound(id) => NotFound, names "rental" id;
    Self::BookNotFound(id) => NotFound, names "book" id;
    Self::NoCopyAvailable(_) => Conflict as "no-copy-available";
    Self::DuplicateId(_) => Conflict as "duplicate-id";
});

port_error!(store ReportError, input "report" {});

// The only conflict a sales store reports: another load of the same file holds it.
port_error!(store SalesRepoError, input "query" {
    Self::NotFound(what) => NotFound, names "sales" what;
    Self::Conflict(_) => Conflict as "concurrent-load";
});

port_error!(store StatusStoreError, input "key" {});

// Engines, not stores: they have no `StoreError`.
port_error!(OcrError, input "file" {
    Self::Unavailable(_) => Unavailable;
    Self::Corrupt(_) => InvalidInput;
    Self::Internal(_) => Internal;
});

port_error!(ImageError, input "file" {
    Self::Unsupported(_) => InvalidInput as "unsupported-media-type";
    Self::TooLarge(_) => InvalidInput as "too-large";
    Self::Corrupt(_) => InvalidInput as "corrupt-image";
    Self::Internal(_) => Internal;
});
