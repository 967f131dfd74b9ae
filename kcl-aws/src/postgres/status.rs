//! [`StatusStore`] on PostgreSQL: one row per key; the condition is part of the
//! write statement, so check and write are one atomic step.

use async_trait::async_trait;
use kcl_core::ports::{
    ProcessingState, ProcessingStatus, StatusCondition, StatusStore, StatusStoreError,
};
use sqlx::Row;

use super::codec::{micros, storable, time};
use super::fault::{corrupt, db_error, TxError, TX};
use super::PgStore;

const UPSERT: &str = "INSERT INTO processing_status (key, status, message, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET \
     status = excluded.status, message = excluded.message, updated_at = excluded.updated_at";

impl PgStore {
    async fn try_put_status(
        &self,
        st: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, TxError<StatusStoreError>> {
        let names = |s: &[ProcessingState]| s.iter().map(|x| x.as_str()).collect::<Vec<_>>();
        let (sql, states) = match condition {
            StatusCondition::Always => (UPSERT.to_owned(), None),
            StatusCondition::Absent => (
                "INSERT INTO processing_status (key, status, message, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING"
                    .to_owned(),
                None,
            ),
            StatusCondition::In([]) => return Ok(false),
            StatusCondition::In(s) => (
                "UPDATE processing_status SET status = $2, message = $3, updated_at = $4 \
                 WHERE key = $1 AND status = ANY($5)"
                    .to_owned(),
                Some(names(s)),
            ),
            StatusCondition::AbsentOrIn(s) => (
                format!("{UPSERT} WHERE processing_status.status = ANY($5)"),
                Some(names(s)),
            ),
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(st.key.clone())
            .bind(st.status.as_str())
            .bind(st.message.clone())
            .bind(micros(st.updated_at));
        if let Some(states) = states {
            query = query.bind(states);
        }
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl StatusStore for PgStore {
    async fn get(&self, key: &str) -> Result<Option<ProcessingStatus>, StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        let row =
            sqlx::query("SELECT status, message, updated_at FROM processing_status WHERE key = $1")
                .bind(key.to_owned())
                .fetch_optional(&self.pool)
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
        if !storable(&status.message) {
            return Err(StatusStoreError::InvalidInput(
                "a status message cannot contain NUL".into(),
            ));
        }
        TX.retry(|| self.try_put_status(status, condition)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        sqlx::query("DELETE FROM processing_status WHERE key = $1")
            .bind(key.to_owned())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_error)
    }
}
