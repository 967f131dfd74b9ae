//! [`EndedSessions`] on SQLite: one row per ended session, kept until the session
//! would have expired.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kcl_core::ports::{check_session_id, EndedSessions, EndedSessionsError};

use super::codec::micros;
use super::fault::{db_error, TxError, TX};
use super::SqliteStore;

#[async_trait]
impl EndedSessions for SqliteStore {
    async fn end(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), EndedSessionsError> {
        check_session_id(id)?;
        TX.retry(|| async {
            sqlx::query(
                "INSERT INTO ended_sessions (id, expires_at) VALUES (?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET \
                 expires_at = max(ended_sessions.expires_at, excluded.expires_at)",
            )
            .bind(id.to_owned())
            .bind(micros(expires_at))
            .execute(&self.db.write)
            .await?;
            Ok::<_, TxError<EndedSessionsError>>(())
        })
        .await
    }

    async fn is_ended(&self, id: &str) -> Result<bool, EndedSessionsError> {
        check_session_id(id)?;
        let found = sqlx::query("SELECT 1 FROM ended_sessions WHERE id = ?")
            .bind(id.to_owned())
            .fetch_optional(&self.db.read)
            .await
            .map_err(db_error)?;
        Ok(found.is_some())
    }

    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, EndedSessionsError> {
        TX.retry(|| async {
            let done = sqlx::query("DELETE FROM ended_sessions WHERE expires_at <= ?")
                .bind(micros(now))
                .execute(&self.db.write)
                .await?;
            Ok::<_, TxError<EndedSessionsError>>(done.rows_affected())
        })
        .await
    }
}
