use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kcl_core::ports::HealthReport;
use kcl_core::Services;
use serde::Serialize;
use std::sync::Arc;
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
pub(crate) async fn ready(State(s): State<Arc<Services>>) -> (StatusCode, Json<Readiness>) {
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

/// The readiness answer of a server whose request slots are all taken: `503` with
/// `Retry-After: 1` and a `capacity` check, so a balancer routes elsewhere for now.
pub(crate) fn saturated(max_in_flight: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Readiness {
            status: "unavailable",
            checks: vec![HealthReport {
                name: "capacity".into(),
                status: "error",
                critical: true,
                latency_ms: 0,
                error: Some(format!(
                    "all {max_in_flight} request slots are in use (KCL_HTTP_MAX_IN_FLIGHT)"
                )),
            }],
        }),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    res
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
