//! Reading the audit log across entities: every deletion last week, every event of
//! a kind of entity, newest first, a page at a time.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Utc};

use super::journal::check_history_limit;
use super::{Ports, ServiceError};
use crate::domain::{
    AuditEvent, AuditPosition, AuditQuery, Cursor, EntityRef, Page, ValidationError,
};
use crate::ports::AuditLog;

/// Searches of the audit log (see [`AuditQuery`]) and entity histories.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use kcl_core::domain::{AuditAction, AuditQuery, EntityKind};
/// use kcl_core::memory::MemoryBackend;
///
/// let services = MemoryBackend::new().services();
/// let draft = kcl_core::domain::BookDraft::builder(
///     "Dom Casmurro",
///     "Machado de Assis",
///     kcl_core::domain::Isbn::synthetic(1).as_str(),
/// )
/// .year(1899)
/// .build()
/// .unwrap();
/// let book = services.catalog.create(draft).await.unwrap();
/// services.catalog.delete(book.id, None).await.unwrap();
///
/// let mut q = AuditQuery::new(20);
/// q.action = Some(AuditAction::Deleted);
/// q.entity_type = Some(EntityKind::Book);
/// let page = services.audit.search(q, None).await.unwrap();
/// assert_eq!(page.items.len(), 1);
/// assert_eq!(page.items[0].entity.id, book.id.to_string());
/// assert!(page.next_cursor.is_none());
/// # });
/// ```
pub struct AuditService {
    audit: Arc<dyn AuditLog>,
}

impl AuditService {
    pub(crate) fn new(p: &Ports) -> Self {
        Self {
            audit: p.audit.clone(),
        }
    }

    /// One page of the events `query` asks for, newest first. `cursor` is the
    /// previous page's [`next_cursor`](Page::next_cursor) (it replaces
    /// `query.before`); `query.limit` is 1 to 1000.
    pub async fn search(
        &self,
        mut query: AuditQuery,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEvent>, ServiceError> {
        check_history_limit(query.limit)?;
        if let (Some(from), Some(until)) = (query.from, query.until) {
            if from >= until {
                return Err(
                    ValidationError::field("to", "bad-range", "must not be before `from`").into(),
                );
            }
        }
        if let Some(c) = cursor {
            query.before = Some(Cursor::decode::<AuditPosition>(c)?);
        }
        let limit = query.limit as usize;
        // One more than asked: whether a next page exists.
        query.limit += 1;
        let mut items = self.audit.search(&query).await?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| Cursor::encode(&AuditPosition::of(e)))
        } else {
            None
        };
        Ok(Page::forward(items, next_cursor))
    }

    /// The history of any entity, oldest first (at most `limit` events, 1 to 1000);
    /// the catalog, job and sales services have typed forms of it.
    pub async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, ServiceError> {
        check_history_limit(limit)?;
        Ok(self.audit.history(entity, limit).await?)
    }
}

/// Reads a bound of an audit search's window: an RFC 3339 time
/// (`2026-12-01T09:30:00-03:00`) or a date (`2026-12-01`, a whole UTC day). Times
/// are kept to the microsecond. `to` bounds are inclusive: the answer is the
/// exclusive end ([`AuditQuery::until`]) just after it (the next midnight for a
/// date).
///
/// ```
/// use kcl_core::services::audit_bound;
/// let from = audit_bound("from", "2026-12-01", false).unwrap();
/// assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00+00:00");
/// let until = audit_bound("to", "2026-12-07", true).unwrap();
/// assert_eq!(until.to_rfc3339(), "2026-12-08T00:00:00+00:00");
/// assert!(audit_bound("to", "last week", true).is_err());
/// assert!(audit_bound("to", "+10000-01-01T00:00:00Z", true).is_err());
/// ```
pub fn audit_bound(field: &str, value: &str, to: bool) -> Result<DateTime<Utc>, ValidationError> {
    let bad = || {
        ValidationError::field(
            field,
            "bad-time",
            "must be an RFC 3339 time (2026-12-01T09:30:00Z) or a date (2026-12-01)",
        )
    };
    if value.len() > 64 {
        return Err(bad());
    }
    let bound = if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if to {
            day.succ_opt().ok_or_else(bad)?
        } else {
            day
        };
        day.and_time(chrono::NaiveTime::MIN).and_utc()
    } else {
        let t = DateTime::parse_from_rfc3339(value)
            .map_err(|_| bad())?
            .with_timezone(&Utc)
            .trunc_subsecs(6);
        if to {
            t.checked_add_signed(chrono::Duration::microseconds(1))
                .ok_or_else(bad)?
        } else {
            t
        }
    };
    // Every backend orders times as fixed-width text or integers within these years.
    if !(0..=9999).contains(&bound.year()) {
        return Err(ValidationError::field(
            field,
            "bad-time",
            "must be before the year 10000",
        ));
    }
    Ok(bound)
}
