use async_trait::async_trait;

use crate::BoxError;

/// Why a [`Replication`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicationError {
    /// Not a value this store's positions can take (unused by the adapters so far;
    /// every store error has it).
    #[error("invalid log position: {0}")]
    InvalidInput(String),
    /// The primary cannot be reached right now; retrying may succeed.
    #[error("replication position unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("replication failure: {0}")]
    Internal(#[source] BoxError),
}

/// A position in a database's log of commits: every change committed before the
/// position was taken is at or before it, and a replica that has replayed up to it
/// holds all of them. Larger is later.
///
/// PostgreSQL's is its WAL position (an LSN, written `16/B374D848`); other stores
/// have none.
///
/// ```
/// use kcl_core::ports::LogPosition;
/// let p: LogPosition = "16/B374D848".parse().unwrap();
/// assert_eq!(p.to_string(), "16/B374D848");
/// assert!(p > "16/B374D000".parse().unwrap());
/// assert!("16".parse::<LogPosition>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition(pub u64);

impl std::fmt::Display for LogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl std::str::FromStr for LogPosition {
    type Err = ReplicationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ReplicationError::InvalidInput(format!("not a log position: {s:.40}"));
        let (hi, lo) = s.split_once('/').ok_or_else(bad)?;
        if hi.is_empty() || lo.is_empty() || hi.len() > 8 || lo.len() > 8 {
            return Err(bad());
        }
        let hi = u64::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u64::from_str_radix(lo, 16).map_err(|_| bad())?;
        Ok(Self(hi << 32 | lo))
    }
}

/// A database with read replicas, seen from its writers: where its log stands.
///
/// Services read listings, searches, summaries and reports on a replica only once
/// it has replayed the log up to a position taken *after* the last change they must
/// see (see [`crate::context::with_read_position`]); the adapters answer such reads
/// from the primary when no replica has got that far. A store without replicas
/// answers `None` and every read goes to it.
#[async_trait]
pub trait Replication: Send + Sync {
    /// Whether some reads may go to a replica (so positions are worth tracking).
    fn has_replicas(&self) -> bool;

    /// The primary's log position now (every change committed before the call is
    /// at or before it), or `None` when reads never leave the primary (no replica
    /// is configured), so there is nothing to track.
    async fn position(&self) -> Result<Option<LogPosition>, ReplicationError>;
}

/// A store without read replicas: [`Replication::position`] is always `None`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kcl_core::ports::{NoReplicas, Replication};
/// assert_eq!(NoReplicas.position().await.unwrap(), None);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReplicas;

#[async_trait]
impl Replication for NoReplicas {
    fn has_replicas(&self) -> bool {
        false
    }

    async fn position(&self) -> Result<Option<LogPosition>, ReplicationError> {
        Ok(None)
    }
}
