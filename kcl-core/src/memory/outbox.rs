//! Audit events waiting for their relay, in memory: the outbox each in-memory
//! repository fills under its own lock, and a set of outboxes relayed as one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::domain::AuditEvent;
use crate::ports::{AuditLog, AuditLogError, AuditOutbox};

/// The audit events of one in-memory repository's changes, oldest first.
#[derive(Default)]
pub(crate) struct PendingEvents(Mutex<Vec<AuditEvent>>);

impl PendingEvents {
    /// Keeps the event of a change (called under the repository's lock, so the
    /// change and its event are seen together).
    pub(crate) fn push(&self, event: &AuditEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }

    /// [`AuditOutbox::relay`] over these events.
    pub(crate) async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        let pending: Vec<AuditEvent> = {
            let events = self.0.lock().unwrap_or_else(|e| e.into_inner());
            events.iter().take(limit as usize).cloned().collect()
        };
        let mut moved = 0usize;
        let mut failure = None;
        for event in &pending {
            match log.append(event).await {
                Ok(()) | Err(AuditLogError::DuplicateId(_)) => moved += 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let ids: HashSet<_> = pending[..moved].iter().map(|e| e.event_id).collect();
        if !ids.is_empty() {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|e| !ids.contains(&e.event_id));
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(moved as u32),
        }
    }
}

/// Several outboxes relayed as one (the in-memory catalog, OCR jobs and sales each
/// keep their own), in turn, up to `limit` events in all.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use kcl_core::memory::{AllOutboxes, MemoryAuditLog, MemoryCatalog, MemoryJobs};
/// use kcl_core::ports::AuditOutbox;
///
/// let all = AllOutboxes(vec![Arc::new(MemoryCatalog::default()), Arc::new(MemoryJobs::default())]);
/// assert_eq!(all.relay(&MemoryAuditLog::default(), 100).await.unwrap(), 0);
/// # });
/// ```
pub struct AllOutboxes(pub Vec<Arc<dyn AuditOutbox>>);

#[async_trait]
impl AuditOutbox for AllOutboxes {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        let mut moved = 0;
        for outbox in &self.0 {
            if moved == limit {
                break;
            }
            moved += outbox.relay(log, limit - moved).await?;
        }
        Ok(moved)
    }
}
