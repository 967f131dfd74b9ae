//! [`JobRepo`] on SQLite: tables `ocr_jobs` and `ocr_items`. Item status changes
//! are single conditional `UPDATE`s (`... AND status IN ('PENDING', 'PROCESSING')`),
//! so a late or repeated worker never overwrites a final status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kcl_core::adapter_support;
use kcl_core::domain::{
    AuditEvent, ItemId, ItemResult, ItemStatus, Job, JobId, JobItem, StatusCounts,
};
use kcl_core::ports::{ItemStart, JobPage, JobRepo, JobRepoError};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::codec::{micros, time, unsigned, uuid};
use super::fault::{corrupt, db_error, refuse_duplicate, TxError, TX};
use super::SqliteStore;

type Attempt<T> = Result<T, TxError<JobRepoError>>;

/// The columns a [`JobItem`] is read from (by [`item_from_row`]), as a literal for
/// `concat!`.
macro_rules! item_columns {
    () => {
        "id, job_id, seq, key, content_hash, duplicate_of, status, text, confidence, error, \
         created_at, expires_at, updated_at"
    };
}

const INSERT_JOB: &str =
    "INSERT INTO ocr_jobs (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)";

const INSERT_ITEM: &str = concat!(
    "INSERT INTO ocr_items (",
    item_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
);

/// `?1` the job: the job (aliased columns) and its items in order; one row with
/// NULL item columns when it has none, no row when it does not exist.
const GET: &str = "SELECT j.name AS job_name, j.created_at AS job_created_at, \
     j.updated_at AS job_updated_at, i.id, i.job_id, i.seq, i.key, i.content_hash, \
     i.duplicate_of, i.status, i.text, i.confidence, i.error, i.created_at, i.expires_at, \
     i.updated_at \
     FROM ocr_jobs j LEFT JOIN ocr_items i ON i.job_id = j.id WHERE j.id = ?1 ORDER BY i.seq";

/// `?1` limit, `?2` offset: the page's jobs, newest first, with one row per status
/// of their items (one row with a NULL status for a job without items), and the
/// number of jobs in all.
const LIST: &str = "WITH page AS (SELECT id, name, created_at, updated_at FROM ocr_jobs \
     ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2) \
     SELECT p.id, p.name, p.created_at, p.updated_at, i.status, count(i.id) AS n, \
     (SELECT count(*) FROM ocr_jobs) AS total \
     FROM page p LEFT JOIN ocr_items i ON i.job_id = p.id \
     GROUP BY p.id, p.name, p.created_at, p.updated_at, i.status \
     ORDER BY p.created_at DESC, p.id DESC";

/// `?1` job, `?2` item, `?3` now.
const START: &str = concat!(
    "UPDATE ocr_items SET status = 'PROCESSING', updated_at = ?3 \
     WHERE job_id = ?1 AND id = ?2 AND status IN ('PENDING', 'PROCESSING') RETURNING ",
    item_columns!()
);

/// `?1` job, `?2` item, `?3` now, `?4` text, `?5` confidence.
const FINISH_DONE: &str = "UPDATE ocr_items \
     SET status = 'DONE', text = ?4, confidence = ?5, error = NULL, updated_at = ?3 \
     WHERE job_id = ?1 AND (id = ?2 OR duplicate_of = ?2) \
     AND status IN ('PENDING', 'PROCESSING')";

/// `?1` job, `?2` item, `?3` now, `?4` error.
const FINISH_ERROR: &str = "UPDATE ocr_items SET status = 'ERROR', error = ?4, updated_at = ?3 \
     WHERE job_id = ?1 AND (id = ?2 OR duplicate_of = ?2) \
     AND status IN ('PENDING', 'PROCESSING')";

/// `?1` now, `?2` the message.
const EXPIRE: &str = "UPDATE ocr_items SET status = 'EXPIRED', error = ?2, updated_at = ?1 \
     WHERE status IN ('PENDING', 'PROCESSING') AND expires_at < ?1 RETURNING job_id, id";

/// A confidence as stored: SQLite stores a NaN REAL as NULL, so NaN is refused.
fn confidence_param(c: Option<f32>) -> Result<Option<f64>, JobRepoError> {
    match c {
        Some(c) if c.is_nan() => Err(JobRepoError::InvalidInput(
            "confidence is NaN, which SQLite cannot store".into(),
        )),
        c => Ok(c.map(f64::from)),
    }
}

fn status(v: &str) -> Result<ItemStatus, JobRepoError> {
    ItemStatus::parse(v).ok_or_else(|| corrupt(format!("item status {v:?}")))
}

fn job_from_row(row: &SqliteRow, id: JobId, prefix: &str) -> Result<Job, JobRepoError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Job {
        id,
        name: row.try_get(col("name").as_str()).map_err(db_error)?,
        created_at: time(row.try_get(col("created_at").as_str()).map_err(db_error)?)?,
        updated_at: time(row.try_get(col("updated_at").as_str()).map_err(db_error)?)?,
    })
}

/// Reads an item from a row holding the item columns (and maybe others).
fn item_from_row(row: &SqliteRow) -> Result<JobItem, JobRepoError> {
    let get_text = |name: &str| row.try_get::<String, _>(name).map_err(db_error);
    let get_opt = |name: &str| row.try_get::<Option<String>, _>(name).map_err(db_error);
    let get_int = |name: &str| row.try_get::<i64, _>(name).map_err(db_error);
    let confidence: Option<f64> = row.try_get("confidence").map_err(db_error)?;
    Ok(JobItem {
        id: ItemId(uuid(&get_text("id")?)?),
        job_id: JobId(uuid(&get_text("job_id")?)?),
        key: get_text("key")?,
        content_hash: get_text("content_hash")?,
        duplicate_of: get_opt("duplicate_of")?
            .map(|d| uuid(&d).map(ItemId))
            .transpose()?,
        status: status(&get_text("status")?)?,
        text: get_opt("text")?,
        // Written from an f32: converting back is exact.
        confidence: confidence.map(|c| c as f32),
        error: get_opt("error")?,
        created_at: time(get_int("created_at")?)?,
        expires_at: time(get_int("expires_at")?)?,
        updated_at: time(get_int("updated_at")?)?,
    })
}

impl SqliteStore {
    async fn try_create(&self, job: &Job, items: &[JobItem], event: &AuditEvent) -> Attempt<()> {
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query(INSERT_JOB)
            .bind(job.id.to_string())
            .bind(job.name.clone())
            .bind(micros(job.created_at))
            .bind(micros(job.updated_at))
            .execute(&mut *tx)
            .await;
        refuse_duplicate(inserted, || JobRepoError::Duplicate(job.id.to_string()))?;
        for (seq, item) in items.iter().enumerate() {
            let seq = i64::try_from(seq)
                .map_err(|_| TxError::Port(JobRepoError::InvalidInput("too many items".into())))?;
            let inserted = sqlx::query(INSERT_ITEM)
                .bind(item.id.to_string())
                .bind(job.id.to_string())
                .bind(seq)
                .bind(item.key.clone())
                .bind(item.content_hash.clone())
                .bind(item.duplicate_of.map(|d| d.to_string()))
                .bind(item.status.as_str())
                .bind(item.text.clone())
                .bind(confidence_param(item.confidence).map_err(TxError::Port)?)
                .bind(item.error.clone())
                .bind(micros(item.created_at))
                .bind(micros(item.expires_at))
                .bind(micros(item.updated_at))
                .execute(&mut *tx)
                .await;
            refuse_duplicate(inserted, || JobRepoError::Duplicate(item.id.to_string()))?;
        }
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_delete_job(&self, id: JobId, event: &AuditEvent) -> Attempt<(Job, Vec<JobItem>)> {
        let mut tx = self.db.begin().await?;
        // Items first, explicitly (the foreign key would cascade; this returns them).
        let rows = sqlx::query(concat!(
            "DELETE FROM ocr_items WHERE job_id = ?1 RETURNING ",
            item_columns!()
        ))
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM ocr_jobs WHERE id = ?1 RETURNING name, created_at, updated_at",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            return Err(TxError::Port(JobRepoError::NotFound(id)));
        };
        let job = job_from_row(&row, id, "").map_err(TxError::Port)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            items.push((seq, item_from_row(row).map_err(TxError::Port)?));
        }
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        // RETURNING has no order: creation order is `seq`.
        items.sort_by_key(|(seq, _)| *seq);
        Ok((job, items.into_iter().map(|(_, item)| item).collect()))
    }
}

#[async_trait]
impl JobRepo for SqliteStore {
    async fn create(
        &self,
        job: &Job,
        items: &[JobItem],
        event: &AuditEvent,
    ) -> Result<(), JobRepoError> {
        if let Some(item) = items.iter().find(|i| i.job_id != job.id) {
            return Err(JobRepoError::InvalidInput(format!(
                "item {} belongs to job {}, not {}",
                item.id, item.job_id, job.id
            )));
        }
        for item in items {
            confidence_param(item.confidence)?;
        }
        TX.retry(|| self.try_create(job, items, event)).await
    }

    async fn get(&self, id: JobId) -> Result<(Job, Vec<JobItem>), JobRepoError> {
        // One statement: the job and its items are one consistent snapshot.
        let rows = sqlx::query(GET)
            .bind(id.to_string())
            .fetch_all(&self.db.read)
            .await
            .map_err(db_error)?;
        let Some(first) = rows.first() else {
            return Err(JobRepoError::NotFound(id));
        };
        let job = job_from_row(first, id, "job_")?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let item_id: Option<String> = row.try_get("id").map_err(db_error)?;
            if item_id.is_some() {
                items.push(item_from_row(row)?);
            }
        }
        Ok((job, items))
    }

    async fn list(&self, offset: u64, limit: u32) -> Result<JobPage, JobRepoError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = sqlx::query(LIST)
            .bind(i64::from(limit))
            .bind(offset)
            .fetch_all(&self.db.read)
            .await
            .map_err(db_error)?;
        let total = match rows.first() {
            Some(row) => row.try_get::<i64, _>("total").map_err(db_error)?,
            // An empty page (past the end, or no jobs): count alone.
            None => sqlx::query_scalar("SELECT count(*) FROM ocr_jobs")
                .fetch_one(&self.db.read)
                .await
                .map_err(db_error)?,
        };
        let mut jobs: Vec<(Job, StatusCounts)> = Vec::new();
        for row in &rows {
            let id = JobId(uuid(&row.try_get::<String, _>("id").map_err(db_error)?)?);
            if jobs.last().is_none_or(|(j, _)| j.id != id) {
                jobs.push((job_from_row(row, id, "")?, StatusCounts::default()));
            }
            let st: Option<String> = row.try_get("status").map_err(db_error)?;
            if let (Some(st), Some((_, counts))) = (st, jobs.last_mut()) {
                counts.add(status(&st)?, unsigned(row.try_get("n").map_err(db_error)?)?);
            }
        }
        Ok(JobPage {
            jobs,
            total: unsigned(total)?,
        })
    }

    async fn rename(
        &self,
        id: JobId,
        name: &str,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Job, JobRepoError> {
        let row = TX
            .retry(|| async {
                let mut tx = self.db.begin().await?;
                let row = sqlx::query(
                    "UPDATE ocr_jobs SET name = ?2, updated_at = ?3 WHERE id = ?1 \
                 RETURNING name, created_at, updated_at",
                )
                .bind(id.to_string())
                .bind(name.to_owned())
                .bind(micros(now))
                .fetch_optional(&mut *tx)
                .await?;
                self.commit_noting(tx, row.is_some(), event).await?;
                Ok::<_, TxError<JobRepoError>>(row)
            })
            .await?;
        let row = row.ok_or(JobRepoError::NotFound(id))?;
        job_from_row(&row, id, "")
    }

    async fn delete(
        &self,
        id: JobId,
        event: &AuditEvent,
    ) -> Result<(Job, Vec<JobItem>), JobRepoError> {
        TX.retry(|| self.try_delete_job(id, event)).await
    }

    async fn start_item(
        &self,
        job: JobId,
        item: ItemId,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ItemStart, JobRepoError> {
        let start = || async {
            let started = TX
                .retry(|| async {
                    let mut tx = self.db.begin().await?;
                    let row = sqlx::query(START)
                        .bind(job.to_string())
                        .bind(item.to_string())
                        .bind(micros(now))
                        .fetch_optional(&mut *tx)
                        .await?;
                    self.commit_noting(tx, row.is_some(), event).await?;
                    Ok::<_, TxError<JobRepoError>>(row)
                })
                .await?;
            started.as_ref().map(item_from_row).transpose()
        };
        let look = || async {
            let found = sqlx::query(concat!(
                "SELECT ",
                item_columns!(),
                " FROM ocr_items WHERE job_id = ?1 AND id = ?2"
            ))
            .bind(job.to_string())
            .bind(item.to_string())
            .fetch_optional(&self.db.read)
            .await
            .map_err(db_error)?;
            found.as_ref().map(item_from_row).transpose()
        };
        adapter_support::start_item(job, item, start, look).await
    }

    async fn finish_item(
        &self,
        job: JobId,
        item: ItemId,
        result: &ItemResult,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<u64, JobRepoError> {
        if let ItemResult::Done { confidence, .. } = result {
            confidence_param(Some(*confidence))?;
        }
        TX.retry(|| async {
            let mut tx = self.db.begin().await?;
            let q = match result {
                ItemResult::Done { text, confidence } => sqlx::query(FINISH_DONE)
                    .bind(job.to_string())
                    .bind(item.to_string())
                    .bind(micros(now))
                    .bind(text.clone())
                    .bind(f64::from(*confidence)),
                ItemResult::Error(why) => sqlx::query(FINISH_ERROR)
                    .bind(job.to_string())
                    .bind(item.to_string())
                    .bind(micros(now))
                    .bind(why.clone()),
            };
            let done = q.execute(&mut *tx).await?.rows_affected();
            self.commit_noting(tx, done > 0, event).await?;
            Ok::<_, TxError<JobRepoError>>(done)
        })
        .await
    }

    async fn expire(
        &self,
        now: DateTime<Utc>,
        event: &(dyn Fn(JobId, ItemId) -> AuditEvent + Send + Sync),
    ) -> Result<u64, JobRepoError> {
        TX.retry(|| async {
            let mut tx = self.db.begin().await?;
            let rows = sqlx::query(EXPIRE)
                .bind(micros(now))
                .bind(JobItem::EXPIRED_MESSAGE)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                let job: String = row.try_get("job_id")?;
                let item: String = row.try_get("id")?;
                let (job, item) = (
                    JobId(uuid(&job).map_err(TxError::Port)?),
                    ItemId(uuid(&item).map_err(TxError::Port)?),
                );
                self.write_event(&mut tx, &event(job, item)).await?;
            }
            tx.commit().await?;
            Ok::<_, TxError<JobRepoError>>(rows.len() as u64)
        })
        .await
    }
}
