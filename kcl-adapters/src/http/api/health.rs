use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kcl_core::ports::HealthReport;
use kcl_core::Services;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct Readiness {
    status: &'static str,
    checks: Vec<HealthReport>,
}

/// Readiness: 200 when every critical dependency answers, 503 otherwise.
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

#[derive(Debug, Serialize)]
pub(crate) struct Liveness {
    status: &'static str,
}

/// Liveness: the process answers; touches nothing.
pub(crate) async fn live() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}
