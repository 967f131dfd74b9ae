//! [`ReportRuns`] on PostgreSQL: one row per schedule and day (`report_runs`),
//! claimed by an upsert that only takes a row nobody holds; every server of the
//! deployment (and the report function) claims against the same rows.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::ports::{check_schedule_name, ReportRun, ReportRuns, ReportRunsError};
use sqlx::Row;
use uuid::Uuid;

use super::codec::{micros, time};
use super::fault::{corrupt, db_error, TxError, TX};
use super::PgStore;

#[async_trait]
impl ReportRuns for PgStore {
    async fn claim(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        TX.retry(|| async {
            let taken = sqlx::query(
                "INSERT INTO report_runs (schedule, day, holder, lease_until, attempts) \
                 VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (schedule, day) DO UPDATE SET \
                 holder = excluded.holder, lease_until = excluded.lease_until, \
                 attempts = report_runs.attempts + 1 \
                 WHERE report_runs.done_at IS NULL AND report_runs.lease_until <= $5",
            )
            .bind(schedule)
            .bind(day)
            .bind(holder)
            .bind(micros(lease_until))
            .bind(micros(now))
            .execute(self.pool())
            .await?;
            Ok::<_, TxError<ReportRunsError>>(taken.rows_affected() == 1)
        })
        .await
    }

    async fn finish(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        at: DateTime<Utc>,
        reports: &[String],
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        if reports.iter().any(|k| k.contains('\0')) {
            return Err(ReportRunsError::InvalidInput(
                "a report key holds U+0000".into(),
            ));
        }
        let keys = serde_json::to_string(reports)
            .map_err(|e| ReportRunsError::InvalidInput(e.to_string()))?;
        TX.retry(|| async {
            let done = sqlx::query(
                "UPDATE report_runs SET done_at = $1, reports = $2::json \
                 WHERE schedule = $3 AND day = $4 AND holder = $5 AND done_at IS NULL",
            )
            .bind(micros(at))
            .bind(keys.clone())
            .bind(schedule)
            .bind(day)
            .bind(holder)
            .execute(self.pool())
            .await?;
            Ok::<_, TxError<ReportRunsError>>(done.rows_affected() == 1)
        })
        .await
    }

    async fn release(
        &self,
        schedule: &str,
        day: NaiveDate,
        holder: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, ReportRunsError> {
        check_schedule_name(schedule)?;
        TX.retry(|| async {
            let done = sqlx::query(
                "UPDATE report_runs SET lease_until = $1 \
                 WHERE schedule = $2 AND day = $3 AND holder = $4 AND done_at IS NULL",
            )
            .bind(micros(now))
            .bind(schedule)
            .bind(day)
            .bind(holder)
            .execute(self.pool())
            .await?;
            Ok::<_, TxError<ReportRunsError>>(done.rows_affected() == 1)
        })
        .await
    }

    async fn last_finished(&self, schedule: &str) -> Result<Option<ReportRun>, ReportRunsError> {
        check_schedule_name(schedule)?;
        let row = sqlx::query(
            "SELECT day, done_at, reports::text AS reports, attempts FROM report_runs \
             WHERE schedule = $1 AND done_at IS NOT NULL ORDER BY day DESC LIMIT 1",
        )
        .bind(schedule)
        .fetch_optional(self.pool())
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let reports: String = row.try_get("reports").map_err(db_error)?;
        Ok(Some(ReportRun {
            schedule: schedule.to_owned(),
            day: row.try_get("day").map_err(db_error)?,
            done_at: time(row.try_get("done_at").map_err(db_error)?)?,
            reports: serde_json::from_str(&reports)
                .map_err(|e| corrupt::<ReportRunsError>(format!("run reports: {e}")))?,
            attempts: row
                .try_get::<i32, _>("attempts")
                .map_err(db_error)?
                .try_into()
                .unwrap_or(u32::MAX),
        }))
    }
}
