use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kcl_core::ports::HealthReport;
use kcl_core::Services;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::problem::Problem;

/// The readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// `ok` or `unavailable`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
    /// One entry per dependency checked.
    checks: Vec<HealthReport>,
}

/// Readiness: 200 when every critical dependency answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "ready",
    responses(
        (status = 200, description = "Every critical dependency answers", body = Readiness),
        (status = 503, description = "A critical dependency does not answer (the report), or the check timed out (`timeout`)",
            headers(("Retry-After" = String, description = "Seconds, when a problem")),
            content((Readiness = "application/json"), (Problem = "application/problem+json"))),
    )
)]
pub(crate) async fn ready(State(s): State<Services>) -> (StatusCode, Json<Readiness>) {
    let (ok, checks) = s.health.check().await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ok { "ok" } else { "unavailable" },
            checks,
        }),
    )
}

/// The liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Liveness {
    /// Always `ok`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Liveness: the process answers; touches nothing.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    operation_id = "live",
    responses((status = 200, description = "The process answers", body = Liveness))
)]
pub(crate) async fn live() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}
