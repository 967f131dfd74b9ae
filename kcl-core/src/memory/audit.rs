use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::{AuditEvent, AuditPosition, AuditQuery, EntityRef};
use crate::ports::{AuditLog, AuditLogError};

/// Audit events in memory, per entity in append order.
#[derive(Default)]
pub struct MemoryAuditLog {
    events: Mutex<Events>,
}

#[derive(Default)]
struct Events {
    ids: HashSet<crate::domain::EventId>,
    by_entity: HashMap<EntityRef, Vec<AuditEvent>>,
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if !events.ids.insert(event.event_id) {
            return Err(AuditLogError::DuplicateId(event.event_id));
        }
        events
            .by_entity
            .entry(event.entity.clone())
            .or_default()
            .push(event.clone());
        Ok(())
    }

    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = events.by_entity.get(entity).cloned().unwrap_or_default();
        // Stable sort: equal times keep append order.
        out.sort_by_key(|e| e.occurred_at);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<AuditEvent> = events
            .by_entity
            .values()
            .flatten()
            .filter(|e| query.matches(e))
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(AuditPosition::of(e)));
        out.truncate(query.limit as usize);
        Ok(out)
    }
}
