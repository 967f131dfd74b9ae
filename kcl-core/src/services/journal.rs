//! What every write does around its commit, in one place for every service.

use std::sync::Arc;

use serde::Serialize;

use super::{relay_audit, Ports, ServiceError};
use crate::domain::{AuditAction, AuditEvent, EntityRef, EventId, ValidationError};
use crate::ports::{AuditLog, AuditOutbox, Cache, Clock, IdSource, LogPosition, Replication};

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
    replication: Arc<dyn Replication>,
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
    /// Sales files and stock: nothing is cached, but summaries and reports may be
    /// read on a replica once it has caught up with the change.
    Sales,
    /// Anything else (OCR jobs): nothing cached depends on it, and it is read on
    /// the primary only.
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
            replication: p.replication.clone(),
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
    ///
    /// With read replicas, it also records where the primary's log stands once the
    /// new generation is in place (see [`fresh_position`]), and notes it in the
    /// client's session ([`crate::context::note_write`]).
    pub(crate) async fn retire(&self, touched: Touched) {
        let key = match touched {
            Touched::Catalog => super::catalog::GENERATION_KEY,
            Touched::Sales if self.replication.has_replicas() => SALES_GENERATION_KEY,
            _ => return,
        };
        let (cache, replication) = (self.cache.clone(), self.replication.clone());
        let renewal = tokio::spawn(async move {
            let generation = renew_generation(cache.as_ref(), key).await;
            mark_position(cache.as_ref(), replication.as_ref(), &generation).await
        });
        match renewal.await {
            Ok(Some(position)) => crate::context::note_write(position),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "post-commit cache renewal failed"),
        }
    }

    /// Whether some reads may go to a read replica.
    pub(crate) fn has_replicas(&self) -> bool {
        self.replication.has_replicas()
    }

    /// Where a replica must stand to answer a catalog read under `generation` (see
    /// [`fresh_position`]); `None`: the primary answers.
    pub(crate) async fn read_position(&self, generation: &str) -> Option<LogPosition> {
        fresh_position(self.cache.as_ref(), self.replication.as_ref(), generation).await
    }

    /// Where a replica must stand to answer reads of sales summaries and reports
    /// (see [`fresh_position`]); `None`: the primary answers.
    pub(crate) async fn sales_position(&self) -> Option<LogPosition> {
        if !self.replication.has_replicas() {
            return None;
        }
        let generation = match self.cache.get(SALES_GENERATION_KEY).await {
            Ok(Some(g)) => String::from_utf8_lossy(&g).into_owned(),
            // No sales write recorded a position (or the cache forgot it): only the
            // primary is known to be fresh.
            _ => return None,
        };
        fresh_position(self.cache.as_ref(), self.replication.as_ref(), &generation).await
    }

    /// The history of `entity`, oldest first: at most `limit` events, 1 to
    /// [`MAX_HISTORY`].
    pub(crate) async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, ServiceError> {
        check_history_limit(limit)?;
        Ok(self.audit.history(entity, limit).await?)
    }

    /// Moves the events committed changes left in the outbox to the audit log (see
    /// [`crate::services::CatalogService::relay_audit`]).
    pub(crate) async fn relay(&self) -> u64 {
        relay_audit(self.outbox.as_ref(), self.audit.as_ref()).await
    }
}

/// `Ok` for a limit of audit events, 1 to [`MAX_HISTORY`].
pub(crate) fn check_history_limit(limit: u32) -> Result<(), ValidationError> {
    if (1..=MAX_HISTORY).contains(&limit) {
        Ok(())
    } else {
        Err(ValidationError::field(
            "limit",
            "out-of-range",
            "must be between 1 and 1000",
        ))
    }
}

/// The cache key of the sales generation: renewed after every sales write when the
/// database has read replicas, only to carry the write's log position.
const SALES_GENERATION_KEY: &str = "kcl:sales:generation";

/// How long generations and their positions are kept.
const GENERATION_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Replaces the generation under `key` with a new one; returns it.
pub(crate) async fn renew_generation(cache: &dyn Cache, key: &str) -> String {
    let g = uuid::Uuid::new_v4().simple().to_string();
    if let Err(e) = cache
        .set(key, bytes::Bytes::from(g.clone()), GENERATION_TTL)
        .await
    {
        tracing::error!(error = %e, key, "cannot renew a cache generation");
    }
    g
}

fn position_key(generation: &str) -> String {
    format!("kcl:position:{generation}")
}

/// After `generation` replaced the one before it: records the primary's log
/// position under it and returns it (`None` without replicas).
///
/// Taken *after* the generation is in place, the position covers every change
/// committed before anyone could read the generation, so a read on a replica that
/// has replayed up to it cannot miss a change that an earlier generation's readers
/// could have missed. (A position taken by the writer before it renewed the
/// generation would not: another write could commit, renew and then be overwritten
/// by this one's older position.) Each generation has its own key, so concurrent
/// writers never overwrite each other's positions.
async fn mark_position(
    cache: &dyn Cache,
    replication: &dyn Replication,
    generation: &str,
) -> Option<LogPosition> {
    if !replication.has_replicas() {
        return None;
    }
    let position = match replication.position().await {
        Ok(p) => p?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the primary's log position: reads go to the primary");
            return None;
        }
    };
    let value = bytes::Bytes::from(position.to_string());
    if let Err(e) = cache
        .set(&position_key(generation), value, GENERATION_TTL)
        .await
    {
        tracing::warn!(error = %e, "cannot record the log position: reads go to the primary");
    }
    Some(position)
}

/// The log position a replica must have replayed to answer a read under
/// `generation` (and the client's own writes: [`crate::context::session_read_after`]),
/// or `None` when only the primary may answer: no replicas, or no position recorded
/// for the generation (it was renewed by a cache miss, or the cache lost it).
///
/// What is read at or after that position may fill the shared cache under the
/// generation: it holds every change committed before the generation replaced the
/// one before it.
async fn fresh_position(
    cache: &dyn Cache,
    replication: &dyn Replication,
    generation: &str,
) -> Option<LogPosition> {
    if !replication.has_replicas() {
        return None;
    }
    let recorded = match cache.get(&position_key(generation)).await {
        Ok(Some(v)) => std::str::from_utf8(&v).ok()?.parse::<LogPosition>().ok()?,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "cache read failed: reads go to the primary");
            return None;
        }
    };
    Some(recorded.max(crate::context::session_read_after().unwrap_or(recorded)))
}
