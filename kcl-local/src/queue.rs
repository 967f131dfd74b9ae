//! [`TaskQueue`] on SQLite: durable, with the semantics of
//! [`MemoryQueue`](kcl_core::memory::MemoryQueue) (visibility timeout, receive
//! count, dead-letter queue after `max_receives`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kcl_core::adapter_support::{duration_micros, long_poll};
use kcl_core::ports::{Delivery, QueueConfig, QueueError, QueueStats, ReceiptHandle, TaskQueue};
use sqlx::{Row, SqliteConnection};
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use crate::sqlite::codec::now_micros;
use crate::sqlite::fault::{db_error, TxError, TX};
use crate::sqlite::{Db, SqliteStore};

/// How often a long poll looks at the table, for messages sent by other processes
/// (senders in this process wake it at once).
const POLL_INTERVAL: Duration = Duration::from_millis(200);

type Attempt<T> = Result<T, TxError<QueueError>>;

/// A durable task queue in the store's SQLite file, shaped like SQS.
///
/// Several named queues share one file (and one table); handles on the same name
/// are the same queue. A message survives restarts until it is acked. Senders in
/// this process wake waiting receivers at once; messages sent by another process
/// are seen within [`POLL_INTERVAL`](Self::POLL_INTERVAL).
#[derive(Clone)]
pub struct SqliteQueue {
    db: Arc<Db>,
    name: String,
    config: QueueConfig,
    arrived: Arc<Notify>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SqliteQueue {
    /// How often a long poll looks for messages sent by other processes.
    pub const POLL_INTERVAL: Duration = POLL_INTERVAL;

    /// The queue named `name` in `store`'s database.
    pub fn new(store: &SqliteStore, name: &str, config: QueueConfig) -> Self {
        Self {
            db: store.db.clone(),
            name: name.to_owned(),
            arrived: store.db.queue_signal(name),
            config,
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One attempt at a receive, in one write transaction: dead-letters the visible
    /// messages received `max_receives` times that come before the last one taken,
    /// then takes up to `max` visible messages in send order. Returns them, or when
    /// the next hidden message becomes visible (microseconds since the epoch).
    async fn try_take(&self, max: usize) -> Attempt<(Vec<Delivery>, Option<i64>)> {
        let mut tx = self.db.begin().await?;
        let now = now_micros();
        let claimable: Vec<i64> = sqlx::query_scalar(
            "SELECT seq FROM queue_messages \
             WHERE queue = ? AND dead_at IS NULL AND visible_at <= ? AND receive_count < ? \
             ORDER BY seq LIMIT ?",
        )
        .bind(&self.name)
        .bind(now)
        .bind(self.config.max_receives)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        // Like the reference queue, which stops scanning once the batch is full.
        let scanned_to = match claimable.last() {
            Some(last) if claimable.len() == max => *last,
            _ => i64::MAX,
        };
        sqlx::query(
            "UPDATE queue_messages SET dead_at = ?, receipt = NULL \
             WHERE queue = ? AND dead_at IS NULL AND visible_at <= ? AND receive_count >= ? AND seq < ?",
        )
        .bind(now)
        .bind(&self.name)
        .bind(now)
        .bind(self.config.max_receives)
        .bind(scanned_to)
        .execute(&mut *tx)
        .await?;
        let hidden_until = now.saturating_add(duration_micros(self.config.visibility_timeout));
        let mut taken = Vec::with_capacity(claimable.len());
        for seq in claimable {
            taken.push(claim(&mut tx, seq, hidden_until).await?);
        }
        let next_visible = if taken.is_empty() {
            self.next_visible(&mut tx, now).await?
        } else {
            None
        };
        tx.commit().await?;
        Ok((taken, next_visible))
    }

    async fn next_visible(&self, conn: &mut SqliteConnection, now: i64) -> Attempt<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(visible_at) FROM queue_messages \
             WHERE queue = ? AND dead_at IS NULL AND visible_at > ?",
        )
        .bind(&self.name)
        .bind(now)
        .fetch_one(conn)
        .await?)
    }

    async fn try_send(&self, id: &str, body: &str) -> Attempt<()> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO queue_messages (queue, id, body, receive_count, visible_at, sent_at) \
             VALUES (?, ?, ?, 0, ?, ?)",
        )
        .bind(&self.name)
        .bind(id)
        .bind(body)
        .bind(now)
        .bind(now)
        .execute(&self.db.write)
        .await?;
        Ok(())
    }

    async fn try_ack(&self, receipt: &ReceiptHandle) -> Attempt<()> {
        sqlx::query("DELETE FROM queue_messages WHERE queue = ? AND receipt = ?")
            .bind(&self.name)
            .bind(&receipt.0)
            .execute(&self.db.write)
            .await?;
        Ok(())
    }

    async fn try_extend(&self, receipt: &ReceiptHandle, timeout: Duration) -> Attempt<()> {
        let visible_at = now_micros().saturating_add(duration_micros(timeout));
        let changed = sqlx::query(
            "UPDATE queue_messages SET visible_at = ? \
             WHERE queue = ? AND receipt = ? AND dead_at IS NULL",
        )
        .bind(visible_at)
        .bind(&self.name)
        .bind(&receipt.0)
        .execute(&self.db.write)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(TxError::Port(QueueError::StaleReceipt));
        }
        Ok(())
    }

    /// When to look again (unless woken or out of time): at the next visibility
    /// deadline or the next poll, whichever comes first.
    fn next_look(next_visible: Option<i64>) -> Instant {
        let poll = Instant::now() + POLL_INTERVAL;
        let visible = next_visible.map(|at| {
            let wait = u64::try_from(at.saturating_sub(now_micros())).unwrap_or(0);
            Instant::now() + Duration::from_micros(wait)
        });
        visible.map_or(poll, |v| v.min(poll))
    }
}

/// Takes one message: a new receipt, one more receive, hidden until `hidden_until`.
async fn claim(conn: &mut SqliteConnection, seq: i64, hidden_until: i64) -> Attempt<Delivery> {
    let receipt = Uuid::new_v4().to_string();
    let row = sqlx::query(
        "UPDATE queue_messages SET receipt = ?, receive_count = receive_count + 1, visible_at = ? \
         WHERE seq = ? RETURNING id, body, receive_count",
    )
    .bind(&receipt)
    .bind(hidden_until)
    .bind(seq)
    .fetch_one(conn)
    .await?;
    Ok(Delivery {
        message_id: row.try_get("id")?,
        receipt: ReceiptHandle(receipt),
        body: row.try_get("body")?,
        receive_count: row.try_get("receive_count")?,
    })
}

#[async_trait]
impl TaskQueue for SqliteQueue {
    fn config(&self) -> Option<QueueConfig> {
        Some(self.config)
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        QueueConfig::check_body(body)?;
        let id = Uuid::new_v4().to_string();
        TX.retry(|| self.try_send(&id, body)).await?;
        self.arrived.notify_waiters();
        Ok(id)
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        QueueConfig::check_receive(max, wait)?;
        long_poll(&self.arrived, wait, || async {
            let (taken, next_visible) = TX.retry(|| self.try_take(max)).await?;
            Ok((taken, Some(Self::next_look(next_visible))))
        })
        .await
    }

    async fn ack(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        TX.retry(|| self.try_ack(receipt)).await
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        QueueConfig::check_visibility(timeout)?;
        TX.retry(|| self.try_extend(receipt, timeout)).await?;
        if timeout.is_zero() {
            self.arrived.notify_waiters();
        }
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let now = now_micros();
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM(dead_at IS NULL AND visible_at <= ?2), 0), \
               COALESCE(SUM(dead_at IS NULL AND visible_at > ?2), 0), \
               COALESCE(SUM(dead_at IS NOT NULL), 0), \
               MIN(CASE WHEN dead_at IS NULL THEN sent_at END) \
             FROM queue_messages WHERE queue = ?1",
        )
        .bind(&self.name)
        .bind(now)
        .fetch_one(&self.db.read)
        .await
        .map_err(db_error)?;
        let oldest: Option<i64> = row.try_get(3).map_err(db_error)?;
        let count = |i: usize| -> Result<u64, QueueError> {
            let n: i64 = row.try_get(i).map_err(db_error)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(QueueStats {
            visible: count(0)?,
            in_flight: count(1)?,
            dead_lettered: count(2)?,
            oldest_age_secs: oldest.map(|t| u64::try_from((now - t) / 1_000_000).unwrap_or(0)),
        })
    }
}
