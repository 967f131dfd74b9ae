//! [`EndedSessions`] on PostgreSQL: one row per ended session, kept until the
//! session would have expired; every server of the deployment reads the same rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kcl_core::ports::{check_session_id, EndedSessions, EndedSessionsError};

use super::codec::micros;
use super::fault::{db_error, TxError, TX};
use super::PgStore;

#[async_trait]
impl EndedSessions for PgStore {
    async fn end(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), EndedSessionsError> {
        check_session_id(id)?;
        TX.retry(|| async {
            sqlx::query(
                "INSERT INTO ended_sessions (id, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET \
                 expires_at = GREATEST(ended_sessions.expires_at, excluded.expires_at)",
            )
            .bind(id)
            .bind(micros(expires_at))
            .execute(self.pool())
            .await?;
            Ok::<_, TxError<EndedSessionsError>>(())
        })
        .await
    }

    async fn is_ended(&self, id: &str) -> Result<bool, EndedSessionsError> {
        check_session_id(id)?;
        let found = sqlx::query("SELECT 1 FROM ended_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(db_error)?;
        Ok(found.is_some())
    }

    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, EndedSessionsError> {
        TX.retry(|| async {
            let done = sqlx::query("DELETE FROM ended_sessions WHERE expires_at <= $1")
                .bind(micros(now))
                .execute(self.pool())
                .await?;
            Ok::<_, TxError<EndedSessionsError>>(done.rows_affected())
        })
        .await
    }
}
