//! [`TaskQueue`] on PostgreSQL: durable, shared by every process on the database,
//! with the semantics of the SQLite queue (visibility timeout, receive count,
//! dead-lettering after `max_receives`) and a lease in every receipt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use kcl_core::adapter_support::{duration_micros, long_poll};
use kcl_core::ports::{Delivery, QueueConfig, QueueError, QueueStats, ReceiptHandle, TaskQueue};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::Row;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use uuid::Uuid;

use super::fault::{db_error, TxError, TX};
use super::PgStore;

/// The channel senders `NOTIFY` (the payload is the queue's name).
const CHANNEL: &str = "kcl_task_queue";
/// How often a waiting receive looks at the table while its handle listens (a
/// lost notification, or a row requeued by hand, is found this late at worst).
const FALLBACK_POLL: Duration = Duration::from_secs(5);
/// How often it looks while the listener is not connected.
const UNLISTENED_POLL: Duration = Duration::from_millis(500);
/// The longest pause between two attempts at (re)connecting the listener.
const MAX_LISTEN_BACKOFF: Duration = Duration::from_secs(5);

type Attempt<T> = Result<T, TxError<QueueError>>;

/// A durable task queue in a [`PgStore`]'s database (table `task_queue`), shaped
/// like SQS, for many servers and workers on one database.
///
/// Several named queues share the table; handles on the same name are the same
/// queue, in any process. A message lives until it is acked or dead-lettered:
///
/// - **Receiving** takes visible rows with `FOR UPDATE SKIP LOCKED` (concurrent
///   receivers, in any process, never take the same message), counts the receive,
///   draws a new lease and hides the row for the visibility timeout. Times come
///   from the database's clock (`now()`), so hosts with skewed clocks agree.
/// - **Receipts** are `<message id>:<lease>`. A redelivery draws a new lease, so
///   an ack or an extension with an earlier delivery's receipt is refused as
///   [`QueueError::StaleReceipt`]; acking a message that is gone (acked already)
///   succeeds, as the port asks.
/// - **Dead letters:** a message that becomes visible again after `max_receives`
///   receives is marked dead by the next receive (view `task_queue_dead_letters`)
///   and never delivered again; acking it is refused as stale.
/// - **Long polls** wake at once: a send (or a release with a zero timeout) runs
///   `pg_notify`, and each handle's receivers share one `LISTEN` connection (taken
///   from the store's pool at the first waiting receive, reconnected after
///   failures). A waiting receive also looks every
///   [`FALLBACK_POLL`](Self::FALLBACK_POLL) while it listens, every
///   [`UNLISTENED_POLL`](Self::UNLISTENED_POLL) while it does not, and when the
///   next hidden message becomes visible.
///
/// Cheap to clone: clones share the listener.
#[derive(Clone)]
pub struct PgQueue {
    pool: PgPool,
    name: String,
    config: QueueConfig,
    listener: Arc<Listener>,
}

impl std::fmt::Debug for PgQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgQueue")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("listening", &self.listening())
            .finish_non_exhaustive()
    }
}

/// What the listener task tells the receivers.
#[derive(Debug, Default)]
struct Signal {
    /// Woken when a message may have become visible.
    arrived: Notify,
    /// Whether the `LISTEN` connection is up.
    listening: AtomicBool,
}

/// The `LISTEN` task of a handle (and its clones), started by the first waiting
/// receive and stopped when the last clone is dropped.
#[derive(Debug, Default)]
struct Listener {
    signal: Arc<Signal>,
    task: OnceLock<AbortHandle>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }
}

/// The message id and lease in a receipt, or `None` when it is not one of ours.
fn parse_receipt(receipt: &ReceiptHandle) -> Option<(Uuid, Uuid)> {
    let (id, lease) = receipt.0.split_once(':')?;
    Some((Uuid::parse_str(id).ok()?, Uuid::parse_str(lease).ok()?))
}

impl PgQueue {
    /// How often a waiting receive looks at the table while it listens for
    /// notifications (a safety net: notifications normally wake it at once).
    pub const FALLBACK_POLL: Duration = FALLBACK_POLL;
    /// How often a waiting receive looks at the table while its listener is not
    /// connected (at start, or after a lost connection).
    pub const UNLISTENED_POLL: Duration = UNLISTENED_POLL;

    /// The queue named `name` in `store`'s database (any non-empty name up to a
    /// few kilobytes: it is the payload of the notifications). No I/O: the
    /// listener connects at the first waiting receive.
    pub fn new(store: &PgStore, name: &str, config: QueueConfig) -> Self {
        Self {
            pool: store.pool().clone(),
            name: name.to_owned(),
            config,
            listener: Arc::new(Listener::default()),
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle's `LISTEN` connection is up (false until the first
    /// waiting receive, and while reconnecting).
    pub fn listening(&self) -> bool {
        self.listener.signal.listening.load(Ordering::Acquire)
    }

    /// Starts the listener task, once.
    fn start_listener(&self) {
        self.listener.task.get_or_init(|| {
            tokio::spawn(listen(
                self.pool.clone(),
                self.name.clone(),
                self.listener.signal.clone(),
            ))
            .abort_handle()
        });
    }

    /// One attempt at a receive, in one statement: dead-letters the visible
    /// messages already received `max_receives` times, and takes up to `max`
    /// others in visibility order. Returns them, or, when there is none, in how
    /// long the next hidden message becomes visible.
    async fn try_take(&self, max: usize) -> Attempt<(Vec<Delivery>, Option<Duration>)> {
        let max_receives = i32::try_from(self.config.max_receives).unwrap_or(i32::MAX);
        let rows = sqlx::query(
            "WITH dead AS ( \
               UPDATE task_queue SET dead_at = now() WHERE seq IN ( \
                 SELECT seq FROM task_queue \
                 WHERE queue = $1 AND dead_at IS NULL AND visible_at <= now() \
                   AND receive_count >= $2 \
                 FOR UPDATE SKIP LOCKED) \
             ), picked AS ( \
               SELECT seq FROM task_queue \
               WHERE queue = $1 AND dead_at IS NULL AND visible_at <= now() \
                 AND receive_count < $2 \
               ORDER BY visible_at, seq LIMIT $3 \
               FOR UPDATE SKIP LOCKED \
             ) \
             UPDATE task_queue t SET receive_count = t.receive_count + 1, \
               lease = gen_random_uuid(), \
               visible_at = now() + $4::bigint * interval '1 microsecond' \
             FROM picked WHERE t.seq = picked.seq \
             RETURNING t.seq, t.id, t.lease, t.body, t.receive_count",
        )
        .bind(&self.name)
        .bind(max_receives)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .bind(duration_micros(self.config.visibility_timeout))
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            let id: Uuid = row.try_get("id")?;
            let lease: Uuid = row.try_get("lease")?;
            let count: i32 = row.try_get("receive_count")?;
            taken.push((
                seq,
                Delivery {
                    message_id: id.to_string(),
                    receipt: ReceiptHandle(format!("{id}:{lease}")),
                    body: row.try_get("body")?,
                    receive_count: u32::try_from(count).unwrap_or(0),
                },
            ));
        }
        taken.sort_by_key(|(seq, _)| *seq);
        let taken: Vec<Delivery> = taken.into_iter().map(|(_, d)| d).collect();
        let next_visible = if taken.is_empty() {
            self.next_visible().await?
        } else {
            None
        };
        Ok((taken, next_visible))
    }

    /// In how long the next hidden live message becomes visible, by the database's clock.
    async fn next_visible(&self) -> Attempt<Option<Duration>> {
        let micros: Option<i64> = sqlx::query_scalar(
            "SELECT ceil(extract(epoch FROM min(visible_at) - now()) * 1000000)::bigint \
             FROM task_queue WHERE queue = $1 AND dead_at IS NULL AND visible_at > now()",
        )
        .bind(&self.name)
        .fetch_one(&self.pool)
        .await?;
        Ok(micros.map(|m| Duration::from_micros(u64::try_from(m).unwrap_or(0))))
    }

    async fn try_send(&self, ids: &[Uuid], bodies: &[&str]) -> Attempt<()> {
        // One statement: the rows and the notification commit together.
        sqlx::query(
            "WITH sent AS ( \
               INSERT INTO task_queue (queue, id, body) \
               SELECT $1, m.id, m.body FROM unnest($2::uuid[], $3::text[]) \
                 WITH ORDINALITY AS m(id, body, n) ORDER BY m.n \
               RETURNING 1 \
             ) \
             SELECT pg_notify($4, $1)::text FROM (SELECT 1 FROM sent LIMIT 1) AS any_sent",
        )
        .bind(&self.name)
        .bind(ids)
        .bind(bodies)
        .bind(CHANNEL)
        .fetch_optional(&self.pool)
        .await?;
        Ok(())
    }

    async fn try_ack(&self, id: Uuid, lease: Uuid) -> Attempt<()> {
        let deleted = sqlx::query(
            "DELETE FROM task_queue \
             WHERE id = $1 AND queue = $2 AND lease = $3 AND dead_at IS NULL",
        )
        .bind(id)
        .bind(&self.name)
        .bind(lease)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if deleted == 1 {
            return Ok(());
        }
        // Looked at after the delete (a concurrent ack of the same delivery has
        // committed by now): gone is an ack already done; present means the
        // receipt was superseded by a later delivery, the message was
        // dead-lettered, or it belongs to another queue.
        let present: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM task_queue WHERE id = $1)")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        if present {
            return Err(TxError::Port(QueueError::StaleReceipt));
        }
        Ok(())
    }

    async fn try_extend(&self, id: Uuid, lease: Uuid, timeout: Duration) -> Attempt<()> {
        let rows = sqlx::query(
            "WITH changed AS ( \
               UPDATE task_queue SET visible_at = now() + $4::bigint * interval '1 microsecond' \
               WHERE id = $1 AND queue = $2 AND lease = $3 AND dead_at IS NULL \
               RETURNING queue \
             ) \
             SELECT CASE WHEN $5 THEN pg_notify($6, queue)::text END FROM changed",
        )
        .bind(id)
        .bind(&self.name)
        .bind(lease)
        .bind(duration_micros(timeout))
        .bind(timeout.is_zero())
        .bind(CHANNEL)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(TxError::Port(QueueError::StaleReceipt));
        }
        Ok(())
    }
}

/// The listener task: `LISTEN`s on [`CHANNEL`] on a connection of `pool`, wakes
/// the receivers on each notification for `name`, and reconnects (with a growing
/// pause) after failures, until the pool is closed or the task aborted.
async fn listen(pool: PgPool, name: String, signal: Arc<Signal>) {
    let mut pause = Duration::from_millis(100);
    while !pool.is_closed() {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    signal.listening.store(true, Ordering::Release);
                    // Whatever was sent before the LISTEN is found by looking again.
                    signal.arrived.notify_waiters();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) => {
                                if n.payload() == name {
                                    signal.arrived.notify_waiters();
                                }
                            }
                            // The connection was lost and re-established: look again.
                            Ok(None) => signal.arrived.notify_waiters(),
                            Err(e) => {
                                if !pool.is_closed() {
                                    tracing::warn!(queue = %name, error = %e, "postgres queue: listener lost");
                                }
                                break;
                            }
                        }
                    }
                    signal.listening.store(false, Ordering::Release);
                }
                Err(e) => {
                    tracing::warn!(queue = %name, error = %e, "postgres queue: cannot LISTEN");
                }
            },
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!(queue = %name, error = %e, "postgres queue: cannot connect the listener");
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_LISTEN_BACKOFF);
    }
}

#[async_trait]
impl TaskQueue for PgQueue {
    fn config(&self) -> Option<QueueConfig> {
        Some(self.config)
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        QueueConfig::check_body(body)?;
        let ids = [Uuid::new_v4()];
        let bodies = [body];
        TX.retry(|| self.try_send(&ids, &bodies)).await?;
        self.listener.signal.arrived.notify_waiters();
        Ok(ids[0].to_string())
    }

    async fn send_batch(&self, bodies: &[&str]) -> Result<Vec<String>, QueueError> {
        for b in bodies {
            QueueConfig::check_body(b)?;
        }
        let mut ids = Vec::with_capacity(bodies.len());
        // Bounded statements (at most 100 bodies of 256 KiB each).
        for chunk in bodies.chunks(100) {
            let chunk_ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
            TX.retry(|| self.try_send(&chunk_ids, chunk)).await?;
            ids.extend(chunk_ids.iter().map(Uuid::to_string));
        }
        self.listener.signal.arrived.notify_waiters();
        Ok(ids)
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        QueueConfig::check_receive(max, wait)?;
        if !wait.is_zero() {
            self.start_listener();
        }
        long_poll(&self.listener.signal.arrived, wait, || async {
            let (taken, next_visible) = TX.retry(|| self.try_take(max)).await?;
            let poll = if self.listening() {
                FALLBACK_POLL
            } else {
                UNLISTENED_POLL
            };
            let after = next_visible.map_or(poll, |after| after.min(poll));
            Ok((taken, Some(Instant::now() + after)))
        })
        .await
    }

    async fn ack(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        let (id, lease) = parse_receipt(receipt).ok_or(QueueError::StaleReceipt)?;
        TX.retry(|| self.try_ack(id, lease)).await
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        QueueConfig::check_visibility(timeout)?;
        let (id, lease) = parse_receipt(receipt).ok_or(QueueError::StaleReceipt)?;
        TX.retry(|| self.try_extend(id, lease, timeout)).await?;
        if timeout.is_zero() {
            self.listener.signal.arrived.notify_waiters();
        }
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let row = sqlx::query(
            "SELECT \
               count(*) FILTER (WHERE dead_at IS NULL AND visible_at <= now()) AS visible, \
               count(*) FILTER (WHERE dead_at IS NULL AND visible_at > now()) AS in_flight, \
               count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead, \
               floor(extract(epoch FROM now() - min(sent_at) FILTER (WHERE dead_at IS NULL)))::bigint AS oldest \
             FROM task_queue WHERE queue = $1",
        )
        .bind(&self.name)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error::<QueueError>)?;
        let count = |column: &str| -> Result<u64, QueueError> {
            let n: i64 = row.try_get(column).map_err(db_error::<QueueError>)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let oldest: Option<i64> = row.try_get("oldest").map_err(db_error::<QueueError>)?;
        Ok(QueueStats {
            visible: count("visible")?,
            in_flight: count("in_flight")?,
            dead_lettered: count("dead")?,
            oldest_age_secs: oldest.map(|s| u64::try_from(s).unwrap_or(0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_parse_only_when_well_formed() {
        let id = Uuid::new_v4();
        let lease = Uuid::new_v4();
        assert_eq!(
            parse_receipt(&ReceiptHandle(format!("{id}:{lease}"))),
            Some((id, lease))
        );
        for bad in [
            "",
            "no-such-receipt",
            &id.to_string(),
            &format!("{id}:"),
            &format!(":{lease}"),
            &format!("{id}:{lease}:x"),
        ] {
            assert_eq!(
                parse_receipt(&ReceiptHandle(bad.to_owned())),
                None,
                "{bad:?}"
            );
        }
    }
}
