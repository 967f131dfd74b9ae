use axum::extract::State;
use axum::Json;
use kcl_core::domain::{AuditEvent, BookId, EntityKind, JobId};
use kcl_core::Services;
use serde::{Deserialize, Serialize};

use crate::http::extract::ApiQuery;
use crate::http::problem::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    entity_type: String,
    entity_id: String,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct AuditOut {
    items: Vec<AuditEvent>,
}

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
