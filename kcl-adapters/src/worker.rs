//! The queue worker host: receives tasks in batches, runs up to N at once, keeps each
//! message hidden while it runs, acks what is done, retries transient failures with
//! back-off, and lets messages that keep failing go to the dead-letter queue after
//! recording why.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use kcl_adapters::worker::{run, WorkerConfig};
//! use kcl_core::memory::MemoryBackend;
//!
//! let backend = MemoryBackend::new();
//! let services = backend.services();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let worker = tokio::spawn(run(
//!     backend.queue.clone(),
//!     services.covers.clone(),
//!     WorkerConfig::default(),
//!     async { let _ = stopped.await; },
//! ));
//! stop.send(()).unwrap();
//! let stats = worker.await.unwrap();
//! assert_eq!(stats.received, 0);
//! # });
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kcl_core::ports::{Delivery, QueueConfig, TaskQueue};
use kcl_core::services::{TaskHandler, TaskOutcome};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How a worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Tasks run at once (default: the number of cores).
    pub concurrency: usize,
    /// Longest wait of one long poll (at most 20 s).
    pub wait: Duration,
    /// How long a received message stays hidden per extension while its task runs.
    pub visibility: Duration,
    /// The queue's receive limit: after it the queue dead-letters a message. Every
    /// receive but the last runs the task; one that still asks for a retry on the
    /// receive before the last is recorded as failed. The last receive only records
    /// the failure ([`Turn`]), so a task whose worker died during every attempt is
    /// recorded too, not left unfinished. The queue's own `max_receives` wins when the
    /// queue knows it ([`TaskQueue::config`]).
    pub give_up_after: u32,
    /// Longest a task may run before it is abandoned and retried later (a decoder or
    /// OCR run that never returns must not hold a slot forever).
    pub task_deadline: Duration,
    /// How long shutdown waits for running tasks before releasing them to other workers.
    pub grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            wait: Duration::from_secs(20),
            visibility: Duration::from_secs(30),
            give_up_after: QueueConfig::default().max_receives,
            task_deadline: Duration::from_secs(600),
            grace: Duration::from_secs(25),
        }
    }
}

/// What a worker did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    /// Messages received.
    pub received: u64,
    /// Acked after success (or nothing to do).
    pub done: u64,
    /// Acked after a permanent failure (the status says why).
    pub failed: u64,
    /// Released for a later retry.
    pub retried: u64,
    /// Left to the dead-letter queue after too many retries.
    pub given_up: u64,
    /// Received for the last time ([`Turn::RecordFailure`]): the failure recorded
    /// without a run, and the message left to the dead-letter queue.
    pub dead_lettered: u64,
}

/// What one delivery is for, from how often the message was received and the
/// queue's receive limit (after which the queue dead-letters it).
///
/// The last receive is kept back to record the failure: a task whose attempts all
/// ended without an answer (its worker was killed, lost the network, or the machine
/// went away) would otherwise be dead-lettered with nothing recorded, and its item
/// or cover would stay unfinished.
///
/// ```
/// use kcl_adapters::worker::Turn;
/// assert_eq!(Turn::of(1, 8), Turn::Attempt { last: false });
/// assert_eq!(Turn::of(7, 8), Turn::Attempt { last: true });
/// assert_eq!(Turn::of(8, 8), Turn::RecordFailure);
/// assert_eq!(Turn::of(1, 1), Turn::Attempt { last: true }); // nothing to keep back
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Run the task. On the `last` attempt, a task that asks for a retry is given up
    /// (its failure recorded) and left to the dead-letter queue.
    Attempt {
        /// No attempt comes after this one.
        last: bool,
    },
    /// The queue's last receive: record the failure without running the task (the
    /// attempts before it ended without an answer), then leave the message to the
    /// dead-letter queue.
    RecordFailure,
}

impl Turn {
    /// The turn of a message received `receive_count` times (this time included)
    /// from a queue that dead-letters it after `max_receives`.
    pub fn of(receive_count: u32, max_receives: u32) -> Turn {
        if max_receives >= 2 && receive_count >= max_receives {
            Turn::RecordFailure
        } else {
            Turn::Attempt {
                last: receive_count.saturating_add(1) >= max_receives,
            }
        }
    }

    /// The reason recorded on [`Turn::RecordFailure`].
    pub const LOST: &'static str =
        "no attempt finished: its worker stopped, or lost the message, every time";
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    given_up: AtomicU64,
    dead_lettered: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            received: self.received.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            given_up: self.given_up.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
        }
    }
}

/// Back-off before the `n`th retry: 2, 4, 8... seconds, at most 5 minutes.
pub fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(receive_count.clamp(1, 9)).min(300))
}

/// Runs the worker until `shutdown` completes; then stops receiving, waits up to
/// `config.grace` for running tasks, and makes the rest visible again at once so
/// another worker takes them. Returns what it did.
pub async fn run(
    queue: Arc<dyn TaskQueue>,
    handler: Arc<dyn TaskHandler>,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> WorkerStats {
    // The queue's own numbers win: giving up exactly at its receive limit is what
    // records a failure before the queue dead-letters the message.
    let mut config = config;
    if let Some(q) = queue.config() {
        config.give_up_after = q.max_receives;
        config.visibility = config.visibility.min(q.visibility_timeout);
    }
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let counters = Arc::new(Counters::default());
    let mut running = JoinSet::new();
    let mut in_flight: Vec<(tokio::task::AbortHandle, Delivery)> = Vec::new();
    tokio::pin!(shutdown);
    let mut failures = 0u32;
    loop {
        // Wait for a free slot (or shutdown) before asking for work.
        let free = tokio::select! {
            _ = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let max = (slots.available_permits() + 1).min(QueueConfig::MAX_BATCH);
        let received = tokio::select! {
            _ = &mut shutdown => break,
            r = queue.receive(max, config.wait.min(QueueConfig::MAX_WAIT)) => r,
        };
        let batch = match received {
            Ok(b) => {
                failures = 0;
                b
            }
            Err(e) => {
                failures += 1;
                let pause = backoff(failures).min(Duration::from_secs(30));
                tracing::warn!(error = %e, ?pause, "worker: receive failed");
                drop(free);
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(pause) => continue,
                }
            }
        };
        drop(free);
        in_flight.retain(|(h, _)| !h.is_finished());
        for delivery in batch {
            counters.received.fetch_add(1, Ordering::Relaxed);
            let permit = slots.clone().acquire_owned().await.expect("open semaphore");
            let (queue, handler, counters) = (queue.clone(), handler.clone(), counters.clone());
            let d = delivery.clone();
            let handle = running.spawn(async move {
                let _permit = permit;
                run_one(queue.as_ref(), handler.as_ref(), &d, config, &counters).await;
            });
            in_flight.push((handle, delivery));
        }
        while running.try_join_next().is_some() {}
    }
    // Shutdown: finish what runs, within the grace period.
    let deadline = Instant::now() + config.grace;
    while !running.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, running.join_next())
            .await
            .is_err()
        {
            break;
        }
    }
    for (handle, delivery) in in_flight {
        if !handle.is_finished() {
            handle.abort();
            // Visible again now: another worker takes it without waiting.
            let _ = queue
                .extend_visibility(&delivery.receipt, Duration::ZERO)
                .await;
            tracing::info!(message_id = %delivery.message_id, "worker: released an unfinished task");
        }
    }
    running.shutdown().await;
    counters.snapshot()
}

/// The `request_id` a task was stamped with by the request that queued it; for an S3
/// notification, `s3:` and the request id S3 gave the upload that caused it (the one
/// in S3's access logs and CloudTrail). Public for the fuzz targets (`fuzz/`), not
/// part of the API.
#[doc(hidden)]
pub fn request_id_of(body: &str) -> Option<String> {
    use kcl_core::domain::{ObjectCreated, S3Notification};
    use serde_json::Value;
    let v: Value = serde_json::from_str(body).ok()?;
    match v.get("request_id") {
        Some(Value::String(id)) => return Some(id.clone()),
        None | Some(Value::Null) => {}
        Some(_) => return None,
    }
    let Ok(Some(S3Notification::Records(records))) = S3Notification::read(&v) else {
        return None;
    };
    ObjectCreated::request_id_of(records.first()?).map(|id| format!("s3:{id}"))
}

async fn run_one(
    queue: &dyn TaskQueue,
    handler: &dyn TaskHandler,
    d: &Delivery,
    config: WorkerConfig,
    counters: &Counters,
) {
    use tracing::Instrument;
    let request_id = request_id_of(&d.body);
    let span = tracing::info_span!(
        "task",
        kind = handler.kind(),
        message_id = %d.message_id,
        request_id = request_id.as_deref().unwrap_or(""),
    );
    kcl_core::context::with_request_id(
        request_id,
        run_one_inner(queue, handler, d, config, counters),
    )
    .instrument(span)
    .await
}

async fn run_one_inner(
    queue: &dyn TaskQueue,
    handler: &dyn TaskHandler,
    d: &Delivery,
    config: WorkerConfig,
    counters: &Counters,
) {
    let last = match Turn::of(d.receive_count, config.give_up_after) {
        Turn::Attempt { last } => last,
        Turn::RecordFailure => {
            counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("kcl_tasks_total", "kind" => handler.kind(), "outcome" => "dead_lettered")
                .increment(1);
            tracing::error!(message_id = %d.message_id, receives = d.receive_count, reason = Turn::LOST, "task received for the last time: recorded as failed, left to the dead-letter queue");
            handler.give_up(&d.body, Turn::LOST).await;
            // Visible at once: the next receive moves it to the dead-letter queue.
            let _ = queue.extend_visibility(&d.receipt, Duration::ZERO).await;
            return;
        }
    };
    let started = Instant::now();
    // Keep the message hidden while the task runs.
    let heartbeat = async {
        let every = (config.visibility / 2).max(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = queue.extend_visibility(&d.receipt, config.visibility).await {
                tracing::warn!(message_id = %d.message_id, error = %e, "worker: could not extend visibility");
            }
        }
    };
    let outcome = tokio::select! {
        o = handler.handle(&d.body) => o,
        _ = heartbeat => unreachable!("the heartbeat never ends"),
        _ = tokio::time::sleep(config.task_deadline) => TaskOutcome::Retry(format!(
            "the task ran over its {:?} deadline", config.task_deadline
        )),
    };
    let ms = started.elapsed().as_millis() as u64;
    let kind = handler.kind();
    let outcome_within = match &outcome {
        TaskOutcome::RetryWithin(_, within) => Some(*within),
        _ => None,
    };
    let outcome_name = match &outcome {
        TaskOutcome::Done => "done",
        TaskOutcome::Failed(_) => "failed",
        TaskOutcome::Retry(_) | TaskOutcome::RetryWithin(..) if last => "dead_lettered",
        TaskOutcome::Retry(_) | TaskOutcome::RetryWithin(..) => "retried",
    };
    metrics::counter!("kcl_tasks_total", "kind" => kind, "outcome" => outcome_name).increment(1);
    metrics::histogram!("kcl_task_duration_seconds", "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    match outcome {
        TaskOutcome::Done => {
            counters.done.fetch_add(1, Ordering::Relaxed);
            tracing::info!(message_id = %d.message_id, ms, "task done");
            ack(queue, d).await;
        }
        TaskOutcome::Failed(why) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(message_id = %d.message_id, ms, reason = %why, "task failed for good");
            ack(queue, d).await;
        }
        TaskOutcome::Retry(why) | TaskOutcome::RetryWithin(why, _) if last => {
            counters.given_up.fetch_add(1, Ordering::Relaxed);
            tracing::error!(message_id = %d.message_id, receives = d.receive_count, reason = %why, "task given up: left to the dead-letter queue");
            handler.give_up(&d.body, &why).await;
            // Visible at once: the next receive moves it to the dead-letter queue.
            let _ = queue.extend_visibility(&d.receipt, Duration::ZERO).await;
        }
        TaskOutcome::Retry(why) | TaskOutcome::RetryWithin(why, _) => {
            counters.retried.fetch_add(1, Ordering::Relaxed);
            let pause = match outcome_within {
                Some(within) => backoff(d.receive_count).min(within.max(Duration::from_secs(1))),
                None => backoff(d.receive_count),
            };
            tracing::warn!(message_id = %d.message_id, receives = d.receive_count, ?pause, reason = %why, "task will be retried");
            let _ = queue.extend_visibility(&d.receipt, pause).await;
        }
    }
}

async fn ack(queue: &dyn TaskQueue, d: &Delivery) {
    kcl_core::crash_point!("worker.task.before_ack");
    if let Err(e) = queue.ack(&d.receipt).await {
        // It will come back and, the handler being idempotent, be acked then.
        tracing::warn!(message_id = %d.message_id, error = %e, "worker: ack failed");
    }
}

#[cfg(test)]
mod tests {
    use super::request_id_of;

    #[test]
    fn request_ids_of_tasks_and_s3_notifications() {
        assert_eq!(
            request_id_of(r#"{"bucket":"b","key":"k","request_id":"abc"}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(request_id_of(r#"{"bucket":"b","key":"k"}"#), None);
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
            "responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"x"},
            "s3":{"bucket":{"name":"b"},"object":{"key":"uploads/1/a.jpg"}}}]}"#;
        assert_eq!(request_id_of(s3).as_deref(), Some("s3:C3D13FE58DE4C810"));
        let odd = r#"{"Records":[{"responseElements":{"x-amz-request-id":"a b\n"}}]}"#;
        assert_eq!(request_id_of(odd), None, "not printable: left out");
        assert_eq!(request_id_of(r#"{"Event":"s3:TestEvent"}"#), None);
        assert_eq!(request_id_of("not json"), None);
    }
}
