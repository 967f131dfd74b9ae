use axum::extract::State;
use axum::Json;
use kcl_core::domain::AuditEvent;
use kcl_core::Services;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::http::extract::ApiQuery;
use crate::http::forms::audit::{read, AuditParams};
use crate::http::problem::{ApiError, Problem};

/// Audit events: an entity's history (oldest first) or a search's page (newest
/// first).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditHistory)]
pub(crate) struct AuditOut {
    /// The events.
    pub(crate) items: Vec<AuditEvent>,
    /// The cursor of a search's next page; `null` on the last page and for a
    /// history.
    #[schema(required = true)]
    pub(crate) next_cursor: Option<String>,
}

/// An entity's history, oldest first; or every event of an action, a kind of
/// entity or a time window, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    operation_id = "list_audit",
    params(AuditParams),
    responses(
        (status = 200, description = "The events", body = AuditOut),
        (status = 400, description = "An unknown query parameter, or a value of the wrong type (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown entity type or action, a bad id, time, range, cursor or limit, or `entity_id` with a search filter (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Json<AuditOut>, ApiError> {
    let page = read(&s, q).await?;
    Ok(Json(AuditOut {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
