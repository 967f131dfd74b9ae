//! What every write does around its commit, in one place for every service.

use std::sync::Arc;

use serde::Serialize;

use super::{relay_audit, Ports, ServiceError};
use crate::domain::{AuditAction, AuditEvent, EntityRef, EventId, ValidationError};
use crate::ports::{AuditLog, AuditOutbox, Cache, Clock, IdSource};

/// The audit side of a write: stamps the event the repository writes in the
/// change's own transaction (the transactional outbox: the event commits or rolls
/// back with the change), and after the commit relays the store's pending events to
/// the audit log and, for a change to the catalog (a book, a rental, a cover),
/// retires every cached catalog read.
///
/// Services hold one each instead of calling into a sibling service after their
/// commits.
#[derive(Clone)]
pub(crate) struct Journal {
    audit: Arc<dyn AuditLog>,
    outbox: Arc<dyn AuditOutbox>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

/// Longest a write waits for its audit event to reach the audit log before it
/// answers (see [`Journal::committed`]). A healthy log takes milliseconds.
pub(crate) const RELAY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The most events one history read returns.
pub(crate) const MAX_HISTORY: u32 = 1000;

/// What a committed change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Touched {
    /// Books, rentals or covers: cached catalog reads are retired.
    Catalog,
    /// Anything else (OCR jobs, sales): nothing cached depends on it.
    Other,
}

impl Journal {
    pub(crate) fn new(p: &Ports) -> Self {
        Self {
            audit: p.audit.clone(),
            outbox: p.outbox.clone(),
            cache: p.cache.clone(),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
        }
    }

    /// The audit event of `action` on `entity`, now, with `data` (what the change
    /// wrote).
    pub(crate) fn event(
        &self,
        action: AuditAction,
        entity: EntityRef,
        data: &impl Serialize,
    ) -> AuditEvent {
        AuditEvent {
            event_id: EventId(self.ids.new_id()),
            action,
            entity,
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
            occurred_at: self.clock.now(),
        }
    }

    /// After a committed change (its event committed with it): retires cached
    /// catalog reads if it `touched` the catalog, then relays pending audit events.
    /// Runs in a task of its own, so a caller that hangs up cannot cut it short.
    ///
    /// The caller waits for the retirement (a read after the write must not see
    /// the old catalog) and for the relay at most [`RELAY_WAIT`]: the event is
    /// already committed in the outbox, so an audit log that hangs delays its
    /// history, never the write's answer; the relay goes on in the background
    /// (and every server relays what is left every few seconds).
    pub(crate) async fn committed(&self, touched: Touched) {
        self.retire(touched).await;
        let (audit, outbox) = (self.audit.clone(), self.outbox.clone());
        let relay = tokio::spawn(async move {
            relay_audit(outbox.as_ref(), audit.as_ref()).await;
        });
        match tokio::time::timeout(RELAY_WAIT, relay).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "post-commit audit relay failed"),
            Err(_) => tracing::warn!(
                wait = ?RELAY_WAIT,
                "the audit log is slow: the write answers, its event is relayed in the background"
            ),
        }
    }

    /// Retires every cached catalog read if a committed change `touched` the
    /// catalog, without relaying audit events (a bulk import relays once, at its
    /// end). Runs in a task of its own, so a caller that hangs up cannot cut it
    /// short.
    pub(crate) async fn retire(&self, touched: Touched) {
        if touched == Touched::Catalog {
            let cache = self.cache.clone();
            let renewal = tokio::spawn(async move {
                super::catalog::renew_generation(cache.as_ref()).await;
            });
            if let Err(e) = renewal.await {
                tracing::error!(error = %e, "post-commit cache renewal failed");
            }
        }
    }

    /// The history of `entity`, oldest first: at most `limit` events, 1 to
    /// [`MAX_HISTORY`].
    pub(crate) async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, ServiceError> {
        if !(1..=MAX_HISTORY).contains(&limit) {
            return Err(ValidationError::field(
                "limit",
                "out-of-range",
                "must be between 1 and 1000",
            )
            .into());
        }
        Ok(self.audit.history(entity, limit).await?)
    }

    /// Moves the events committed changes left in the outbox to the audit log (see
    /// [`crate::services::CatalogService::relay_audit`]).
    pub(crate) async fn relay(&self) -> u64 {
        relay_audit(self.outbox.as_ref(), self.audit.as_ref()).await
    }
}
