use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::{AuditEvent, EntityRef};
use crate::ports::{AuditLog, AuditLogError};

/// Audit events in memory, in append order.
#[derive(Default)]
pub struct MemoryAuditLog {
    events: Mutex<Vec<AuditEvent>>,
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.iter().any(|e| e.event_id == event.event_id) {
            return Err(AuditLogError::DuplicateId(event.event_id));
        }
        events.push(event.clone());
        Ok(())
    }

    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = events
            .iter()
            .filter(|e| e.entity == *entity)
            .cloned()
            .collect();
        // Stable sort: equal times keep append order.
        out.sort_by_key(|e| e.occurred_at);
        out.truncate(limit as usize);
        Ok(out)
    }
}
