//! [`StatusStore`] on SQLite: one row per key; the condition is part of the write
//! statement, so check and write are one atomic step.

use async_trait::async_trait;
use kcl_core::ports::{
    ProcessingState, ProcessingStatus, StatusCondition, StatusStore, StatusStoreError,
};
use sqlx::Row;

use super::codec::{micros, time};
use super::fault::{corrupt, db_error, TxError, TX};
use super::SqliteStore;

impl SqliteStore {
    async fn try_put_status(
        &self,
        st: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, TxError<StatusStoreError>> {
        let states = |s: &[ProcessingState]| {
            s.iter()
                .map(|st| format!("'{}'", st.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // The state names are fixed identifiers, never user text.
        let sql = match condition {
            StatusCondition::Always => "INSERT INTO processing_status (key, status, message, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET \
                 status = excluded.status, message = excluded.message, updated_at = excluded.updated_at"
                .to_owned(),
            StatusCondition::Absent => "INSERT INTO processing_status (key, status, message, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING"
                .to_owned(),
            StatusCondition::In([]) => return Ok(false),
            StatusCondition::In(s) => format!(
                "UPDATE processing_status SET status = ?2, message = ?3, updated_at = ?4 \
                 WHERE key = ?1 AND status IN ({})",
                states(s)
            ),
            StatusCondition::AbsentOrIn(s) => format!(
                "INSERT INTO processing_status (key, status, message, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET \
                 status = excluded.status, message = excluded.message, updated_at = excluded.updated_at \
                 WHERE processing_status.status IN ({})",
                if s.is_empty() { "NULL".to_owned() } else { states(s) }
            ),
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(st.key.clone())
            .bind(st.status.as_str())
            .bind(st.message.clone())
            .bind(micros(st.updated_at))
            .execute(&self.db.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl StatusStore for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<ProcessingStatus>, StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        let row =
            sqlx::query("SELECT status, message, updated_at FROM processing_status WHERE key = ?")
                .bind(key.to_owned())
                .fetch_optional(&self.db.read)
                .await
                .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let status: String = row.try_get("status").map_err(db_error)?;
        Ok(Some(ProcessingStatus {
            key: key.to_owned(),
            status: ProcessingState::parse(&status)
                .map_err(|_| corrupt::<StatusStoreError>(format!("status {status:?}")))?,
            message: row.try_get("message").map_err(db_error)?,
            updated_at: time(row.try_get("updated_at").map_err(db_error)?)?,
        }))
    }

    async fn put(
        &self,
        status: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, StatusStoreError> {
        ProcessingStatus::check_key(&status.key)?;
        TX.retry(|| self.try_put_status(status, condition)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        TX.retry(|| async {
            sqlx::query("DELETE FROM processing_status WHERE key = ?")
                .bind(key.to_owned())
                .execute(&self.db.write)
                .await?;
            Ok::<_, TxError<StatusStoreError>>(())
        })
        .await
    }
}
