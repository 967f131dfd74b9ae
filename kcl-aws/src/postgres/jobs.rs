//! [`JobRepo`] on PostgreSQL: tables `ocr_jobs` and `ocr_items`. Item status
//! changes are single conditional `UPDATE`s (`... AND status IN ('PENDING',
//! 'PROCESSING')`): under `READ COMMITTED` a concurrent writer waits for the row
//! lock and re-checks the condition, so a late or repeated worker never overwrites
//! a final status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kcl_core::adapter_support;
use kcl_core::domain::{
    AuditEvent, ItemId, ItemResult, ItemStatus, Job, JobId, JobItem, StatusCounts,
};
use kcl_core::ports::{ItemStart, JobPage, JobRepo, JobRepoError};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::codec::{micros, storable, time, unsigned};
use super::fault::{corrupt, db_error, TxError, TX};
use super::PgStore;

type Attempt<T> = Result<T, TxError<JobRepoError>>;

/// The columns a [`JobItem`] is read from (by [`item_from_row`]), as a literal for
/// `concat!`.
macro_rules! item_columns {
    () => {
        "id, job_id, seq, key, content_hash, duplicate_of, status, text, confidence, error, \
         created_at, expires_at, updated_at"
    };
}

/// `$1` id, `$2` name, `$3` created_at, `$4` updated_at.
const INSERT_JOB: &str = "INSERT INTO ocr_jobs (id, name, created_at, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";

/// `$1` the job, then one array per column: every item in one statement.
const INSERT_ITEMS: &str = concat!(
    "INSERT INTO ocr_items (",
    item_columns!(),
    ") SELECT t.id, $1, t.seq, t.key, t.content_hash, t.duplicate_of, t.status, t.text, \
     t.confidence, t.error, t.created_at, t.expires_at, t.updated_at \
     FROM unnest($2::uuid[], $3::int4[], $4::text[], $5::text[], $6::uuid[], $7::text[], \
     $8::text[], $9::float8[], $10::text[], $11::int8[], $12::int8[], $13::int8[]) \
     AS t (id, seq, key, content_hash, duplicate_of, status, text, confidence, error, \
     created_at, expires_at, updated_at) \
     ON CONFLICT (id) DO NOTHING"
);

/// `$1` the job: the job (aliased columns) and its items in order; one row with
/// NULL item columns when it has none, no row when it does not exist.
const GET: &str = "SELECT j.name AS job_name, j.created_at AS job_created_at, \
     j.updated_at AS job_updated_at, i.id, i.job_id, i.seq, i.key, i.content_hash, \
     i.duplicate_of, i.status, i.text, i.confidence, i.error, i.created_at, i.expires_at, \
     i.updated_at \
     FROM ocr_jobs j LEFT JOIN ocr_items i ON i.job_id = j.id WHERE j.id = $1 ORDER BY i.seq";

/// `$1` limit, `$2` offset: the page's jobs, newest first, with one row per status
/// of their items (one row with a NULL status for a job without items), and the
/// number of jobs in all.
const LIST: &str = "WITH page AS (SELECT id, name, created_at, updated_at FROM ocr_jobs \
     ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2) \
     SELECT p.id, p.name, p.created_at, p.updated_at, i.status, count(i.id) AS n, \
     (SELECT count(*) FROM ocr_jobs) AS total \
     FROM page p LEFT JOIN ocr_items i ON i.job_id = p.id \
     GROUP BY p.id, p.name, p.created_at, p.updated_at, i.status \
     ORDER BY p.created_at DESC, p.id DESC";

/// `$1` job, `$2` item, `$3` now.
const START: &str = concat!(
    "UPDATE ocr_items SET status = 'PROCESSING', updated_at = $3 \
     WHERE job_id = $1 AND id = $2 AND status IN ('PENDING', 'PROCESSING') RETURNING ",
    item_columns!()
);

/// `$1` job, `$2` item, `$3` now, `$4` text, `$5` confidence.
const FINISH_DONE: &str = "UPDATE ocr_items \
     SET status = 'DONE', text = $4, confidence = $5, error = NULL, updated_at = $3 \
     WHERE job_id = $1 AND (id = $2 OR duplicate_of = $2) \
     AND status IN ('PENDING', 'PROCESSING')";

/// `$1` job, `$2` item, `$3` now, `$4` error.
const FINISH_ERROR: &str = "UPDATE ocr_items SET status = 'ERROR', error = $4, updated_at = $3 \
     WHERE job_id = $1 AND (id = $2 OR duplicate_of = $2) \
     AND status IN ('PENDING', 'PROCESSING')";

/// `$1` now, `$2` the message.
const EXPIRE: &str = "UPDATE ocr_items SET status = 'EXPIRED', error = $2, updated_at = $1 \
     WHERE status IN ('PENDING', 'PROCESSING') AND expires_at < $1 RETURNING job_id, id";

/// Refuses a text PostgreSQL cannot store (it holds U+0000).
fn check_text(what: &str, text: &str) -> Result<(), JobRepoError> {
    if storable(text) {
        Ok(())
    } else {
        Err(JobRepoError::InvalidInput(format!(
            "{what} holds U+0000, which PostgreSQL cannot store"
        )))
    }
}

fn check_item(job: &Job, item: &JobItem) -> Result<(), JobRepoError> {
    if item.job_id != job.id {
        return Err(JobRepoError::InvalidInput(format!(
            "item {} belongs to job {}, not {}",
            item.id, item.job_id, job.id
        )));
    }
    check_text("an item key", &item.key)?;
    check_text("a content hash", &item.content_hash)?;
    if let Some(text) = &item.text {
        check_text("an item text", text)?;
    }
    if let Some(error) = &item.error {
        check_text("an item error", error)?;
    }
    Ok(())
}

fn status(v: &str) -> Result<ItemStatus, JobRepoError> {
    ItemStatus::parse(v).ok_or_else(|| corrupt(format!("item status {v:?}")))
}

fn job_from_row(row: &PgRow, id: JobId, prefix: &str) -> Result<Job, JobRepoError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Job {
        id,
        name: row.try_get(col("name").as_str()).map_err(db_error)?,
        created_at: time(row.try_get(col("created_at").as_str()).map_err(db_error)?)?,
        updated_at: time(row.try_get(col("updated_at").as_str()).map_err(db_error)?)?,
    })
}

/// Reads an item from a row holding the item columns (and maybe others).
fn item_from_row(row: &PgRow) -> Result<JobItem, JobRepoError> {
    let get_text = |name: &str| row.try_get::<String, _>(name).map_err(db_error);
    let get_opt = |name: &str| row.try_get::<Option<String>, _>(name).map_err(db_error);
    let get_int = |name: &str| row.try_get::<i64, _>(name).map_err(db_error);
    let confidence: Option<f64> = row.try_get("confidence").map_err(db_error)?;
    Ok(JobItem {
        id: ItemId(row.try_get::<Uuid, _>("id").map_err(db_error)?),
        job_id: JobId(row.try_get::<Uuid, _>("job_id").map_err(db_error)?),
        key: get_text("key")?,
        content_hash: get_text("content_hash")?,
        duplicate_of: row
            .try_get::<Option<Uuid>, _>("duplicate_of")
            .map_err(db_error)?
            .map(ItemId),
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

impl PgStore {
    async fn try_create(&self, job: &Job, items: &[JobItem], event: &AuditEvent) -> Attempt<()> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(INSERT_JOB)
            .bind(job.id.0)
            .bind(job.name.clone())
            .bind(micros(job.created_at))
            .bind(micros(job.updated_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(TxError::Port(JobRepoError::Duplicate(job.id.to_string())));
        }
        if items.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        let seqs = (0..items.len())
            .map(i32::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TxError::Port(JobRepoError::InvalidInput("too many items".into())))?;
        let ids: Vec<Uuid> = items.iter().map(|i| i.id.0).collect();
        let inserted = sqlx::query(INSERT_ITEMS)
            .bind(job.id.0)
            .bind(ids.clone())
            .bind(seqs)
            .bind(items.iter().map(|i| i.key.clone()).collect::<Vec<_>>())
            .bind(
                items
                    .iter()
                    .map(|i| i.content_hash.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|i| i.duplicate_of.map(|d| d.0))
                    .collect::<Vec<_>>(),
            )
            .bind(items.iter().map(|i| i.status.as_str()).collect::<Vec<_>>())
            .bind(items.iter().map(|i| i.text.clone()).collect::<Vec<_>>())
            .bind(
                items
                    .iter()
                    .map(|i| i.confidence.map(f64::from))
                    .collect::<Vec<_>>(),
            )
            .bind(items.iter().map(|i| i.error.clone()).collect::<Vec<_>>())
            .bind(
                items
                    .iter()
                    .map(|i| micros(i.created_at))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|i| micros(i.expires_at))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|i| micros(i.updated_at))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted != items.len() as u64 {
            // Some item id is taken (by another job: the ids of the request are
            // distinct). The transaction rolls back when dropped.
            let taken: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM ocr_items WHERE id = ANY($1) AND job_id <> $2 LIMIT 1",
            )
            .bind(ids)
            .bind(job.id.0)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match taken {
                Some(id) => TxError::Port(JobRepoError::Duplicate(id.to_string())),
                // The conflicting item was deleted in between: try again.
                None => TxError::Raced,
            });
        }
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_delete_job(&self, id: JobId, event: &AuditEvent) -> Attempt<(Job, Vec<JobItem>)> {
        let mut tx = self.pool.begin().await?;
        // Items first, explicitly (the foreign key would cascade; this returns them
        // as they were when deleted).
        let rows = sqlx::query(concat!(
            "DELETE FROM ocr_items WHERE job_id = $1 RETURNING ",
            item_columns!()
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM ocr_jobs WHERE id = $1 RETURNING name, created_at, updated_at",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            return Err(TxError::Port(JobRepoError::NotFound(id)));
        };
        let job = job_from_row(&row, id, "").map_err(TxError::Port)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i32 = row.try_get("seq")?;
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
impl JobRepo for PgStore {
    async fn create(
        &self,
        job: &Job,
        items: &[JobItem],
        event: &AuditEvent,
    ) -> Result<(), JobRepoError> {
        check_text("a job name", &job.name)?;
        let mut ids = std::collections::HashSet::new();
        for item in items {
            check_item(job, item)?;
            if !ids.insert(item.id) {
                return Err(JobRepoError::Duplicate(item.id.to_string()));
            }
        }
        TX.retry(|| self.try_create(job, items, event)).await
    }

    async fn get(&self, id: JobId) -> Result<(Job, Vec<JobItem>), JobRepoError> {
        // One statement: the job and its items are one consistent snapshot.
        let rows = sqlx::query(GET)
            .bind(id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let Some(first) = rows.first() else {
            return Err(JobRepoError::NotFound(id));
        };
        let job = job_from_row(first, id, "job_")?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let item_id: Option<Uuid> = row.try_get("id").map_err(db_error)?;
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
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let total = match rows.first() {
            Some(row) => row.try_get::<i64, _>("total").map_err(db_error)?,
            // An empty page (past the end, or no jobs): count alone.
            None => sqlx::query_scalar("SELECT count(*) FROM ocr_jobs")
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?,
        };
        let mut jobs: Vec<(Job, StatusCounts)> = Vec::new();
        for row in &rows {
            let id = JobId(row.try_get::<Uuid, _>("id").map_err(db_error)?);
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
        check_text("a job name", name)?;
        let row = TX
            .retry(|| async {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "UPDATE ocr_jobs SET name = $2, updated_at = $3 WHERE id = $1 \
                 RETURNING name, created_at, updated_at",
                )
                .bind(id.0)
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
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(START)
                        .bind(job.0)
                        .bind(item.0)
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
                " FROM ocr_items WHERE job_id = $1 AND id = $2"
            ))
            .bind(job.0)
            .bind(item.0)
            .fetch_optional(&self.pool)
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
        match result {
            ItemResult::Done { text, .. } => check_text("an item text", text)?,
            ItemResult::Error(why) => check_text("an item error", why)?,
        }
        TX.retry(|| async {
            let mut tx = self.pool.begin().await?;
            let q = match result {
                ItemResult::Done { text, confidence } => sqlx::query(FINISH_DONE)
                    .bind(job.0)
                    .bind(item.0)
                    .bind(micros(now))
                    .bind(text.clone())
                    .bind(f64::from(*confidence)),
                ItemResult::Error(why) => sqlx::query(FINISH_ERROR)
                    .bind(job.0)
                    .bind(item.0)
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
            let mut tx = self.pool.begin().await?;
            let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(EXPIRE)
                .bind(micros(now))
                .bind(JobItem::EXPIRED_MESSAGE)
                .fetch_all(&mut *tx)
                .await?;
            for (job, item) in &rows {
                self.write_event(&mut tx, &event(JobId(*job), ItemId(*item)))
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, TxError<JobRepoError>>(rows.len() as u64)
        })
        .await
    }
}
