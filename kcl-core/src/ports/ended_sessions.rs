use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::BoxError;

/// Why an [`EndedSessions`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndedSessionsError {
    /// The session id is not acceptable (empty, over [`MAX_SESSION_ID_BYTES`], or
    /// holding a control character).
    #[error("invalid session id: {0}")]
    InvalidInput(String),
    /// The store cannot be reached right now; retrying may succeed.
    #[error("ended sessions unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("ended sessions failure: {0}")]
    Internal(#[source] BoxError),
}

/// Sessions ended before their time (a web UI logout): the durable record that makes
/// a copied session cookie useless once its user logged out, across restarts and on
/// every server of a deployment.
///
/// A session is named by an opaque id (the cookie's random `sid`). An entry is kept
/// until `expires_at`, when the session would have expired anyway; [`purge`]
/// removes entries past it. Ending a session twice keeps the later expiry.
///
/// The persistent adapters keep this in the deployment's database (not in a cache,
/// which may lose entries); hosts put a cache in front of it for the per-request
/// check.
///
/// [`purge`]: EndedSessions::purge
#[async_trait]
pub trait EndedSessions: Send + Sync {
    /// Records that session `id` has ended; it stays ended at least until
    /// `expires_at`. Idempotent: ending it again keeps the later of the two expiries.
    async fn end(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), EndedSessionsError>;

    /// Whether session `id` was ended. An entry past its expiry may be answered
    /// either way until [`purge`](Self::purge) removes it (its session has expired
    /// anyway).
    async fn is_ended(&self, id: &str) -> Result<bool, EndedSessionsError>;

    /// Removes the entries whose expiry is at or before `now`; returns how many.
    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, EndedSessionsError>;
}

/// The longest session id an [`EndedSessions`] store accepts, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 128;

/// `Ok` for a session id every store accepts: 1 to [`MAX_SESSION_ID_BYTES`] bytes of
/// text without control characters (PostgreSQL text cannot hold U+0000).
///
/// ```
/// use kcl_core::ports::check_session_id;
/// assert!(check_session_id("rTzv3kq9YbQ3dDq3Wm5yMg").is_ok());
/// assert!(check_session_id("").is_err());
/// assert!(check_session_id(&"x".repeat(129)).is_err());
/// assert!(check_session_id("a\0b").is_err());
/// ```
pub fn check_session_id(id: &str) -> Result<(), EndedSessionsError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID_BYTES {
        return Err(EndedSessionsError::InvalidInput(format!(
            "a session id has 1 to {MAX_SESSION_ID_BYTES} bytes, not {}",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(EndedSessionsError::InvalidInput(
            "a session id holds no control characters".into(),
        ));
    }
    Ok(())
}
