use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use crate::adapter_support::long_poll;
use crate::ports::{Delivery, QueueConfig, QueueError, QueueStats, ReceiptHandle, TaskQueue};

struct Message {
    id: String,
    body: String,
    receive_count: u32,
    visible_at: Instant,
    receipt: Option<String>,
    sent_at: Instant,
}

#[derive(Default)]
struct State {
    messages: BTreeMap<u64, Message>,
    by_receipt: HashMap<String, u64>,
    dead: Vec<Message>,
    next_seq: u64,
}

/// An in-memory task queue with SQS semantics (visibility, receive count, DLQ).
pub struct MemoryQueue {
    config: QueueConfig,
    state: Mutex<State>,
    arrived: Notify,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new(QueueConfig::default())
    }
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes visible messages; returns them, or when the next one becomes visible.
    fn take(&self, max: usize) -> (Vec<Delivery>, Option<Instant>) {
        let now = Instant::now();
        let mut s = self.lock();
        let mut out = Vec::new();
        let mut next_visible: Option<Instant> = None;
        let mut to_dead = Vec::new();
        let State {
            messages,
            by_receipt,
            ..
        } = &mut *s;
        for (seq, m) in messages.iter_mut() {
            if out.len() >= max {
                break;
            }
            if m.visible_at > now {
                next_visible = Some(next_visible.map_or(m.visible_at, |n| n.min(m.visible_at)));
                continue;
            }
            if m.receive_count >= self.config.max_receives {
                to_dead.push(*seq);
                continue;
            }
            if let Some(old) = m.receipt.take() {
                by_receipt.remove(&old);
            }
            m.receive_count += 1;
            m.visible_at = now + self.config.visibility_timeout;
            let receipt = Uuid::new_v4().to_string();
            by_receipt.insert(receipt.clone(), *seq);
            m.receipt = Some(receipt.clone());
            out.push(Delivery {
                message_id: m.id.clone(),
                receipt: ReceiptHandle(receipt),
                body: m.body.clone(),
                receive_count: m.receive_count,
            });
        }
        for seq in to_dead {
            if let Some(mut m) = s.messages.remove(&seq) {
                if let Some(r) = m.receipt.take() {
                    s.by_receipt.remove(&r);
                }
                s.dead.push(m);
            }
        }
        (out, next_visible)
    }
}

#[async_trait]
impl TaskQueue for MemoryQueue {
    fn config(&self) -> Option<QueueConfig> {
        Some(self.config)
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        QueueConfig::check_body(body)?;
        let id = Uuid::new_v4().to_string();
        {
            let mut s = self.lock();
            let seq = s.next_seq;
            s.next_seq += 1;
            s.messages.insert(
                seq,
                Message {
                    id: id.clone(),
                    body: body.to_owned(),
                    receive_count: 0,
                    visible_at: Instant::now(),
                    sent_at: Instant::now(),
                    receipt: None,
                },
            );
        }
        self.arrived.notify_waiters();
        Ok(id)
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        QueueConfig::check_receive(max, wait)?;
        long_poll(&self.arrived, wait, || async { Ok(self.take(max)) }).await
    }

    async fn ack(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        let mut s = self.lock();
        if let Some(seq) = s.by_receipt.remove(&receipt.0) {
            s.messages.remove(&seq);
        }
        Ok(())
    }

    async fn extend_visibility(
        &self,
        receipt: &ReceiptHandle,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        QueueConfig::check_visibility(timeout)?;
        {
            let mut s = self.lock();
            let seq = *s
                .by_receipt
                .get(&receipt.0)
                .ok_or(QueueError::StaleReceipt)?;
            let m = s.messages.get_mut(&seq).ok_or(QueueError::StaleReceipt)?;
            m.visible_at = Instant::now() + timeout;
        }
        if timeout.is_zero() {
            self.arrived.notify_waiters();
        }
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let now = Instant::now();
        let s = self.lock();
        let visible = s.messages.values().filter(|m| m.visible_at <= now).count() as u64;
        Ok(QueueStats {
            visible,
            in_flight: s.messages.len() as u64 - visible,
            dead_lettered: s.dead.len() as u64,
            oldest_age_secs: s
                .messages
                .values()
                .map(|m| now.saturating_duration_since(m.sent_at).as_secs())
                .max(),
        })
    }
}
