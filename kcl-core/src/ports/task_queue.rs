use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::BoxError;

/// Settings every queue adapter honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// After this many receives without an ack, a message goes to the dead-letter queue.
    /// The default, 9, gives the worker eight attempts, whose back-off (2, 4, 8... s)
    /// rides out about four minutes of a storage or database outage before a task is
    /// given up, and a last receive that only records the failure (a task whose worker
    /// died during every attempt is recorded too).
    pub max_receives: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(30),
            max_receives: 9,
        }
    }
}

impl QueueConfig {
    /// The largest accepted message body (SQS's limit).
    pub const MAX_BODY_BYTES: usize = 256 * 1024;
    /// The most messages one `receive` returns (SQS's limit).
    pub const MAX_BATCH: usize = 10;
    /// The longest long-poll wait (SQS's limit).
    pub const MAX_WAIT: Duration = Duration::from_secs(20);
}

/// Proof of one delivery; needed to ack or extend it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceiptHandle(pub String);

/// A received message.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message's id (stable across deliveries).
    pub message_id: String,
    /// This delivery's receipt.
    pub receipt: ReceiptHandle,
    /// The body as sent.
    pub body: String,
    /// How many times the message has been received, this time included (1 = first).
    pub receive_count: u32,
}

/// Approximate counts, for health and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Messages ready to receive.
    pub visible: u64,
    /// Messages received and not yet acked.
    pub in_flight: u64,
    /// Messages in the dead-letter queue.
    pub dead_lettered: u64,
    /// Age of the oldest live message, in seconds, where the queue can tell (SQS
    /// cannot: CloudWatch's `ApproximateAgeOfOldestMessage` has it).
    pub oldest_age_secs: Option<u64>,
}

/// Why a [`TaskQueue`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The body is empty or over [`QueueConfig::MAX_BODY_BYTES`], or an argument is out of range.
    #[error("invalid queue request: {0}")]
    InvalidInput(String),
    /// The receipt is unknown or was superseded by a later delivery.
    #[error("stale or unknown receipt")]
    StaleReceipt,
    /// The queue cannot be reached right now; retrying may succeed.
    #[error("queue unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else.
    #[error("queue failure: {0}")]
    Internal(#[source] BoxError),
}

/// An at-least-once task queue with visibility timeouts and a dead-letter queue,
/// shaped like SQS.
///
/// A received message is hidden for the visibility timeout; if it is not acked by
/// then it is delivered again with a higher `receive_count`. A message received
/// `max_receives` times without an ack is moved to the dead-letter queue instead of
/// being delivered again.
#[async_trait]
pub trait TaskQueue: Send + Sync {
    /// Sends a message; returns its id.
    async fn send(&self, body: &str) -> Result<String, QueueError>;

    /// Receives up to `max` (1..=10) messages, waiting up to `wait` (at most 20 s)
    /// for the first one to arrive. An empty result means nothing arrived in time.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError>;

    /// Deletes a delivered message. Acking an already-acked message is not an error.
    async fn ack(&self, receipt: &ReceiptHandle) -> Result<(), QueueError>;

    /// Hides a delivered message for `timeout` from now (zero makes it visible
    /// again at once: a retry without waiting for the timeout).
    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), QueueError>;

    /// Approximate counts.
    async fn stats(&self) -> Result<QueueStats, QueueError>;

    /// The queue's own visibility timeout and receive limit (SQS reads them from the
    /// queue's attributes), so workers give up and extend visibility by the same
    /// numbers; `None` when unknown.
    fn config(&self) -> Option<QueueConfig> {
        None
    }

    /// Sends several messages; returns their ids in order. All bodies are checked
    /// before any is sent. Adapters with a batch call (SQS) send 10 per request.
    async fn send_batch(&self, bodies: &[&str]) -> Result<Vec<String>, QueueError> {
        for b in bodies {
            check_body(b)?;
        }
        let mut ids = Vec::with_capacity(bodies.len());
        for b in bodies {
            ids.push(self.send(b).await?);
        }
        Ok(ids)
    }

    /// Acks several deliveries (one request per 10 on SQS).
    async fn ack_batch(&self, receipts: &[ReceiptHandle]) -> Result<(), QueueError> {
        for r in receipts {
            self.ack(r).await?;
        }
        Ok(())
    }
}

/// Checks `send`/`receive` arguments the same way in every adapter.
pub(crate) fn check_body(body: &str) -> Result<(), QueueError> {
    if body.is_empty() || body.len() > QueueConfig::MAX_BODY_BYTES {
        return Err(QueueError::InvalidInput(format!(
            "a message body has 1 to {} bytes",
            QueueConfig::MAX_BODY_BYTES
        )));
    }
    Ok(())
}

impl QueueConfig {
    /// Validates a body (the rule every adapter applies).
    pub fn check_body(body: &str) -> Result<(), QueueError> {
        check_body(body)
    }

    /// The longest visibility timeout (SQS's limit).
    pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

    /// Validates an `extend_visibility` timeout (the rule every adapter applies).
    pub fn check_visibility(timeout: Duration) -> Result<(), QueueError> {
        if timeout > Self::MAX_VISIBILITY {
            return Err(QueueError::InvalidInput(
                "visibility is at most 12 hours".into(),
            ));
        }
        Ok(())
    }

    /// Validates receive arguments (the rule every adapter applies).
    pub fn check_receive(max: usize, wait: Duration) -> Result<(), QueueError> {
        if max == 0 || max > Self::MAX_BATCH {
            return Err(QueueError::InvalidInput(format!(
                "receive takes 1 to {} messages",
                Self::MAX_BATCH
            )));
        }
        if wait > Self::MAX_WAIT {
            return Err(QueueError::InvalidInput(
                "receive waits at most 20 s".into(),
            ));
        }
        Ok(())
    }
}
