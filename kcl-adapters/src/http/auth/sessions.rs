//! Logged-out sessions: this server's memory, the shared cache, and the database
//! that is the truth behind both.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use bytes::Bytes;
use kcl_core::ports::EndedSessionsError;

use super::credentials::SessionClaims;
use super::{tokens, Authenticator, PURGE_EVERY};

impl Authenticator {
    /// The request's session, unless it was logged out; `Err` when whether it was
    /// cannot be told now (the database does not answer).
    pub(super) async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<SessionClaims>, EndedSessionsError> {
        let Some(claims) = self.session_claims(headers) else {
            return Ok(None);
        };
        Ok((!self.ended(&claims.sid).await?).then_some(claims))
    }

    /// Whether session `sid` was logged out: this server's memory first, then the
    /// shared cache, then (at most every [`SESSION_RECHECK`] per session) the
    /// database, which is the truth.
    pub(super) async fn ended(&self, sid: &str) -> Result<bool, EndedSessionsError> {
        if self.logged_out.contains_key(sid) {
            return Ok(true);
        }
        if let Some(cache) = &self.shared {
            match cache.get(&self.logout_key(sid)).await {
                Ok(Some(_)) => {
                    self.logged_out.insert(sid.to_owned(), ());
                    return Ok(true);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "shared cache: logged-out sessions unknown"),
            }
        }
        if self.live.contains_key(sid) {
            return Ok(false);
        }
        match self.ended.is_ended(sid).await {
            Ok(true) => {
                self.logged_out.insert(sid.to_owned(), ());
                Ok(true)
            }
            Ok(false) => {
                self.live.insert(sid.to_owned(), ());
                Ok(false)
            }
            // Not an id this deployment makes: not a session to let in.
            Err(EndedSessionsError::InvalidInput(_)) => Ok(true),
            Err(e) => {
                tracing::warn!(error = %e, "ended sessions unknown: the database does not answer");
                Err(e)
            }
        }
    }

    /// Ends a session: in the database (the truth, kept until the session would have
    /// expired), and in the shared cache and this server's memory, so every server
    /// refuses it at once.
    pub(super) async fn end_session(&self, session: SessionClaims) {
        let expires_at = chrono::DateTime::from_timestamp(
            i64::try_from(session.exp).unwrap_or(i64::MAX / 1_000_000),
            0,
        )
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        if let Err(e) = self.ended.end(&session.sid, expires_at).await {
            tracing::error!(
                error = %e,
                "logout not recorded in the database: a copy of the session's cookie \
                 works again after a restart or a cache flush, until it expires"
            );
        }
        if let Some(cache) = &self.shared {
            let left = session.exp.saturating_sub(tokens::now_secs()).max(1);
            let key = self.logout_key(&session.sid);
            if let Err(e) = cache
                .set(&key, Bytes::from_static(b"1"), Duration::from_secs(left))
                .await
            {
                tracing::warn!(error = %e, "shared cache: logout known to this server only");
            }
        }
        self.live.invalidate(&session.sid);
        self.logged_out.insert(session.sid, ());
        self.purge_expired().await;
    }

    /// Removes the ended sessions that expired from the database, at most every
    /// [`PURGE_EVERY`].
    pub(super) async fn purge_expired(&self) {
        {
            let mut last = self.purged.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < PURGE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        match self.ended.purge(chrono::Utc::now()).await {
            Ok(n) => tracing::debug!(purged = n, "expired ended sessions purged"),
            Err(e) => tracing::warn!(error = %e, "ended sessions: purge failed, retried later"),
        }
    }

    /// The shared cache's key for a logged-out session.
    pub(super) fn logout_key(&self, sid: &str) -> String {
        format!("{}:logout:{sid}", self.namespace)
    }
}
