//! The query of the audit log (`GET /api/audit` and the audit page): an entity's
//! history or a search across entities.

use kcl_core::domain::{
    AuditAction, AuditEvent, AuditQuery, BookId, EntityKind, EntityRef, JobId, Page,
    ValidationError,
};
use kcl_core::services::audit_bound;
use kcl_core::{ServiceError, Services};
use serde::Deserialize;
use utoipa::IntoParams;

/// The query of `GET /api/audit`: one entity's history (`entity_type` and
/// `entity_id`), or a search across entities (any of `action`, `entity_type`,
/// `from`, `to`, with `cursor`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// `book`, `job`, `sales_file` or `stock`: the entity's kind (with
    /// `entity_id`), or only events about entities of this kind.
    #[param(example = "book")]
    pub(crate) entity_type: Option<String>,
    /// One entity's history, oldest first (a UUID for books and jobs, the file name
    /// for a sales file, the SKU for stock); needs `entity_type`, and takes none of
    /// `action`, `from`, `to`, `cursor`.
    pub(crate) entity_id: Option<String>,
    /// Only events of this action: `created`, `updated`, `deleted`, `rented`,
    /// `returned`, `cover_uploaded`, `thumbnail_created`, `ingested`,
    /// `item_processing`, `item_done`, `item_error`, `item_expired`.
    #[param(example = "deleted")]
    pub(crate) action: Option<String>,
    /// Events at or after this RFC 3339 time, or from the start of this date (UTC).
    #[param(example = "2026-11-30")]
    pub(crate) from: Option<String>,
    /// Events at or before this RFC 3339 time, or until the end of this date (UTC).
    #[param(example = "2026-12-06T23:59:59Z")]
    pub(crate) to: Option<String>,
    /// The previous page's `next_cursor`.
    pub(crate) cursor: Option<String>,
    /// Events at most, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub(crate) limit: Option<u32>,
}

/// What `GET /api/audit` and the audit page answer.
pub(crate) async fn read(s: &Services, q: AuditParams) -> Result<Page<AuditEvent>, ServiceError> {
    let limit = q.limit.unwrap_or(100);
    let kind = q
        .entity_type
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(EntityKind::parse)
        .transpose()?;
    if let Some(id) = q.entity_id.filter(|id| !id.is_empty()) {
        let Some(kind) = kind else {
            return Err(ValidationError::field(
                "entity_type",
                "required",
                "is required with entity_id",
            )
            .into());
        };
        for (field, given) in [
            ("action", &q.action),
            ("from", &q.from),
            ("to", &q.to),
            ("cursor", &q.cursor),
        ] {
            if given.as_deref().is_some_and(|v| !v.is_empty()) {
                return Err(ValidationError::field(
                    field,
                    "not-with-entity-id",
                    "searches across entities; an entity's history (entity_id) is read whole",
                )
                .into());
            }
        }
        let items = match kind {
            EntityKind::Book => {
                let id: BookId = id.parse()?;
                s.catalog.history(id, limit).await?
            }
            EntityKind::Job => {
                let id = id.parse().map(JobId).map_err(|_| {
                    ValidationError::field("entity_id", "bad-id", "must be a job id (a UUID)")
                })?;
                s.jobs.history(id, limit).await?
            }
            EntityKind::SalesFile => s.sales.history(&id, limit).await?,
            _ => s.audit.history(&EntityRef { kind, id }, limit).await?,
        };
        return Ok(Page::forward(items, None));
    }
    let mut query = AuditQuery::new(limit);
    query.entity_type = kind;
    query.action = match q.action.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(AuditAction::parse(a).ok_or_else(|| {
            let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
            ValidationError::field(
                "action",
                "unknown-action",
                format!("must be one of: {}", names.join(", ")),
            )
        })?),
    };
    let bound = |field, value: &Option<String>, to| {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| audit_bound(field, v, to))
            .transpose()
    };
    query.from = bound("from", &q.from, false)?;
    query.until = bound("to", &q.to, true)?;
    s.audit
        .search(query, q.cursor.as_deref().filter(|c| !c.is_empty()))
        .await
}
