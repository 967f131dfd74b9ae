use axum::extract::State;
use axum::Json;
use kcl_core::domain::{AuditEvent, BookId, EntityKind, JobId};
use kcl_core::Services;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::extract::ApiQuery;
use crate::http::problem::{ApiError, Problem};

/// The entity of `GET /api/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// `book`, `job`, `sales_file` or `stock`.
    #[param(example = "book")]
    entity_type: String,
    /// The entity's id (a UUID for books and jobs).
    entity_id: String,
    /// Events at most, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// An entity's history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditHistory)]
pub(crate) struct AuditOut {
    /// The events, oldest first.
    items: Vec<AuditEvent>,
}

/// An entity's history, oldest first.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    operation_id = "list_audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The events", body = AuditOut),
        (status = 400, description = "A missing or unknown query parameter, or a value of the wrong type (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown entity type, a bad id or limit (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(s): State<Services>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditOut>, ApiError> {
    let kind = EntityKind::parse(&q.entity_type).map_err(kcl_core::ServiceError::from)?;
    let items = match kind {
        EntityKind::Book => {
            let id: BookId = q.entity_id.parse().map_err(kcl_core::ServiceError::from)?;
            s.catalog.history(id, q.limit.unwrap_or(100)).await?
        }
        EntityKind::Job => {
            let id = q.entity_id.parse().map(JobId).map_err(|_| {
                kcl_core::ServiceError::from(kcl_core::domain::ValidationError::field(
                    "entity_id",
                    "bad-id",
                    "must be a job id (a UUID)",
                ))
            })?;
            s.jobs.history(id, q.limit.unwrap_or(100)).await?
        }
        _ => Vec::new(),
    };
    Ok(Json(AuditOut { items }))
}
