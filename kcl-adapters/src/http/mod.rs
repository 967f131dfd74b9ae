//! The HTTP host: one axum [`Router`] with the REST API, health checks and the web UI.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use kcl_adapters::http::router;
//! use kcl_core::memory::MemoryBackend;
//! use tower::ServiceExt;
//!
//! let app = router(MemoryBackend::new().services());
//! let res = app
//!     .oneshot(axum::http::Request::get("/health/live").body(axum::body::Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(res.status(), 200);
//! # });
//! ```

mod api;
mod extract;
pub mod openapi;
mod problem;
mod ui;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use kcl_core::Services;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use problem::Problem;

/// Longest a request may take before it is answered `503 timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest an upload (a cover, an OCR job) may take, body included: slow links need
/// minutes for 100 MiB.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Largest JSON or form body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The full application: `/api/...`, `/health`, `/health/live` and the web UI at `/`.
pub fn router(services: Services) -> Router {
    let upload_limit = services.covers.settings().limits.max_bytes;
    let jobs_limit = services.jobs.settings().max_total_bytes;
    Router::new()
        .merge(api::routes(upload_limit, jobs_limit))
        .merge(ui::routes(upload_limit, jobs_limit))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(services)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(deadline))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(TraceLayer::new_for_http())
}

/// Answers `503 timeout` when a request runs over [`REQUEST_TIMEOUT`] (uploads:
/// [`UPLOAD_TIMEOUT`]). Handlers that commit several steps run them in a task of
/// their own, so a timeout or a client hanging up never cuts a commit in half.
async fn deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    let upload = req.method() == axum::http::Method::POST
        && (path.ends_with("/cover")
            || path == "/api/jobs"
            || path == "/ui/jobs"
            || path == "/api/sales/files"
            || path == "/ui/sales");
    let limit = if upload {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => problem::timed_out_problem().into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains in-flight
/// requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
