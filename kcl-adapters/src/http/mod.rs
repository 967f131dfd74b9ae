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
pub mod auth;
pub mod client_addr;
mod etag;
mod extract;
pub mod metrics;
pub mod openapi;
mod problem;
mod serve;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use kcl_core::Services;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use client_addr::{ClientAddr, TrustedProxies};
pub use problem::Problem;
pub use serve::{serve, serve_with, ServeTimeouts};

/// Longest a request may take before it is answered `503 timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest an upload (a cover, an OCR job) may take, body included: slow links need
/// minutes for 100 MiB.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Largest JSON or form body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the HTTP host runs: authentication, load limits, metrics.
///
/// The default has **no authentication** (for tests, and for embedding behind an
/// authenticating gateway of your own); the server from the environment
/// (`kcl::serve_from_env`) always sets [`auth`](Self::auth) unless `KCL_AUTH=off`.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Authentication and roles (see [`auth`]); `None` lets every request through.
    pub auth: Option<auth::AuthSettings>,
    /// Requests handled at once; more get `503` with `Retry-After` at once rather
    /// than waiting in an unbounded queue (default 512). Health checks are exempt.
    /// With [`auth`](Self::auth), a slot is taken once the request is authenticated,
    /// and requests without an identity (public routes) share a budget of their own:
    /// an eighth of this, 4 to 64.
    pub max_in_flight: usize,
    /// Uploads (covers, OCR jobs, sales files) handled at once, within
    /// `max_in_flight` (default 8): each may hold up to its size limit in memory.
    pub max_uploads: usize,
    /// The slowest an upload's body may arrive, in bytes per second on average
    /// once [`upload_grace`](Self::upload_grace) has passed (default 16 KiB/s): a
    /// slower upload is refused (`408`) and frees its slot, instead of holding it
    /// for the whole upload deadline.
    pub upload_min_rate: u64,
    /// How long an upload may take before [`upload_min_rate`](Self::upload_min_rate)
    /// applies (default 10 s).
    pub upload_grace: Duration,
    /// Whether to record metrics and serve `/metrics` (default on).
    pub metrics: bool,
    /// The bearer token `/metrics` wants (default none: `/metrics` is public).
    pub metrics_token: Option<metrics::MetricsToken>,
    /// The load balancers and reverse proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed (default none): see [`client_addr`].
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            auth: None,
            max_in_flight: 512,
            max_uploads: 8,
            upload_min_rate: 16 * 1024,
            upload_grace: Duration::from_secs(10),
            metrics: true,
            metrics_token: None,
            trusted_proxies: TrustedProxies::none(),
        }
    }
}

impl HttpOptions {
    /// Turns authentication on with these settings.
    pub fn auth(mut self, settings: auth::AuthSettings) -> Self {
        self.auth = Some(settings);
        self
    }

    /// Believes forwarding headers from these proxies (see [`client_addr`]).
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }
}

/// The full application: `/api/...`, `/health`, `/health/live` and the web UI at `/`,
/// with [`HttpOptions::default`] (**no authentication**: see [`router_with`]).
pub fn router(services: Services) -> Router {
    router_with(services, HttpOptions::default())
}

/// The full application with these options: the REST API, health checks, metrics,
/// the web UI, and (when [`HttpOptions::auth`] is set) login and token routes.
pub fn router_with(services: Services, options: HttpOptions) -> Router {
    let upload_limit = services.covers.settings().limits.max_bytes;
    let jobs_limit = services.jobs.settings().max_total_bytes;
    let mut app = Router::new()
        .merge(api::routes(upload_limit, jobs_limit))
        .merge(ui::routes(upload_limit, jobs_limit));
    if options.metrics {
        metrics::prometheus();
        app = app.route("/metrics", metrics_route(options.metrics_token.clone()));
    }
    // Logged-out sessions and failed logins go through the shared cache too, so every
    // server behind a balancer sees them (Redis; in-process otherwise); logouts are
    // recorded in the database, which outlives both.
    let authenticator = options.auth.map(|s| {
        Arc::new(
            auth::Authenticator::new(s)
                .with_shared_cache(services.cache.clone())
                .with_ended_sessions(services.ended_sessions.clone()),
        )
    });
    if authenticator.is_some() {
        app = app.merge(auth::routes());
    }
    // Request slots are taken after authentication (inside it), so an anonymous
    // client can only use the small budget of the public routes (the login form, a
    // token request), never the slots authenticated requests need.
    let limits = Limits {
        general: Arc::new(Semaphore::new(options.max_in_flight.max(1))),
        uploads: Arc::new(Semaphore::new(options.max_uploads.max(1))),
        anonymous: Arc::new(Semaphore::new(anonymous_budget(options.max_in_flight))),
        identified_only: authenticator.is_some(),
        max_in_flight: options.max_in_flight.max(1),
        upload_rate: (options.upload_min_rate, options.upload_grace),
    };
    let mut app = app
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(services)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(etag::etag))
        .layer(axum::middleware::from_fn(deadline))
        .layer(axum::middleware::from_fn_with_state(limits, shed));
    if let Some(a) = authenticator {
        app = app.layer(axum::middleware::from_fn_with_state(a, auth::authenticate));
    }
    if options.metrics {
        app = app.layer(axum::middleware::from_fn(metrics::track));
    }
    app.layer(axum::middleware::from_fn(scope_request_id))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        // Inside the request's span, so that it can record `client_ip` there.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(options.trusted_proxies),
            client_addr::resolve,
        ))
        // Pages are never framed (clickjacking) and no response is content-sniffed
        // into something else; links to other sites carry no path of ours.
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        // No inline style or script, nothing from elsewhere (see ui::assets).
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(ui::assets::CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_FRAME_OPTIONS,
            axum::http::HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The standalone worker's HTTP side: `/health/live`, `/health` (the readiness report
/// of [`router`], from the same probes) and, when `metrics` is on, `/metrics` (the
/// process's Prometheus recorder, installed here: the worker's `kcl_tasks_total` and
/// `kcl_task_duration_seconds`, the queue depths, `kcl_build_info`). Nothing else.
///
/// With `metrics_token`, `/metrics` wants it as a bearer token.
pub fn worker_router(
    services: Services,
    metrics: bool,
    metrics_token: Option<metrics::MetricsToken>,
) -> Router {
    let mut app = Router::new()
        .route("/health", axum::routing::get(api::health::ready))
        .route("/health/live", axum::routing::get(api::health::live));
    if metrics {
        metrics::prometheus();
        app = app.route("/metrics", metrics_route(metrics_token));
    }
    app.fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(services)
        .layer(axum::middleware::from_fn(deadline))
        .layer(CatchPanicLayer::custom(problem::panic_response))
}

/// `GET /metrics`, behind `token` when there is one.
fn metrics_route(token: Option<metrics::MetricsToken>) -> axum::routing::MethodRouter<Services> {
    let route = axum::routing::get(metrics::render);
    match token {
        Some(t) => route.route_layer(axum::middleware::from_fn_with_state(
            Arc::new(t),
            metrics::require_token,
        )),
        None => route,
    }
}

/// The log span of a request, with its id (`x-request-id`: the client's, or a new
/// UUID), so every log line of the request carries it, and the client's address
/// (`client_ip`, recorded by [`client_addr::resolve`]).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id, client_ip = tracing::field::Empty)
}

/// Makes the request id known to the services, which stamp it on the tasks they
/// queue (see [`kcl_core::context`]).
async fn scope_request_id(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    kcl_core::context::with_request_id(id, next.run(req)).await
}

fn is_upload(req: &axum::extract::Request) -> bool {
    let path = req.uri().path();
    req.method() == axum::http::Method::POST
        && (path.ends_with("/cover")
            || path == "/api/jobs"
            || path == "/ui/jobs"
            || path == "/api/sales/files"
            || path == "/ui/sales")
}

#[derive(Clone)]
struct Limits {
    general: Arc<Semaphore>,
    uploads: Arc<Semaphore>,
    /// Requests nobody is identified for (public routes, with authentication on).
    anonymous: Arc<Semaphore>,
    /// Whether authentication is on: off, every request counts as identified (a
    /// gateway in front authenticates).
    identified_only: bool,
    /// The size of `general`.
    max_in_flight: usize,
    /// [`HttpOptions::upload_min_rate`] and [`HttpOptions::upload_grace`].
    upload_rate: (u64, Duration),
}

/// Requests without an identity handled at once: an eighth of `max_in_flight`, at
/// least 4 and at most 64.
fn anonymous_budget(max_in_flight: usize) -> usize {
    (max_in_flight / 8).clamp(4, 64)
}

/// Load shedding: past the limits, `503 overloaded` with `Retry-After` at once.
/// Runs after authentication: requests without an identity (public routes) share a
/// small budget of their own.
async fn shed(
    State(limits): State<Limits>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path().starts_with("/health") {
        // A server with every slot taken is not ready for more: the balancer routes
        // elsewhere until it is (its liveness stays 200, so nobody replaces it).
        if req.uri().path() == "/health" && limits.general.available_permits() == 0 {
            ::metrics::counter!("kcl_http_saturated_checks_total").increment(1);
            return api::health::saturated(limits.max_in_flight);
        }
        return next.run(req).await;
    }
    let upload = is_upload(&req);
    let anonymous = limits.identified_only && auth::viewer().is_none();
    let pool = if anonymous {
        &limits.anonymous
    } else {
        &limits.general
    };
    let Ok(_permit) = pool.clone().try_acquire_owned() else {
        return refuse(req, if anonymous { "anonymous" } else { "requests" }).await;
    };
    let _upload_permit = if upload {
        match limits.uploads.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => return refuse(req, "uploads").await,
        }
    } else {
        None
    };
    if !upload {
        return next.run(req).await;
    }
    let (rate, grace) = limits.upload_rate;
    let too_slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = too_slow.clone();
    let res = next
        .run(req.map(|body| min_rate(body, rate, grace, flag)))
        .await;
    // Whatever the handler made of the broken body, the client is told why.
    if too_slow.load(std::sync::atomic::Ordering::Relaxed) {
        let mut res = Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "upload-too-slow",
            format!(
                "the upload arrived at less than {rate} bytes per second; send it again \
                 over a faster connection"
            ),
        )
        .into_response();
        res.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return res;
    }
    res
}

/// Ends `body` in an error (the upload is refused with `408`) when, past `grace`, it
/// has arrived at less than `rate` bytes per second on average: a client trickling
/// an upload cannot hold an upload slot for the whole upload deadline.
fn min_rate(
    body: axum::body::Body,
    rate: u64,
    grace: Duration,
    too_slow: Arc<std::sync::atomic::AtomicBool>,
) -> axum::body::Body {
    use futures::StreamExt;
    let started = std::time::Instant::now();
    let mut received = 0u64;
    let checked = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        received += chunk.len() as u64;
        let elapsed = started.elapsed();
        if elapsed > grace && (received as f64) < rate as f64 * elapsed.as_secs_f64() {
            ::metrics::counter!("kcl_http_slow_uploads_total").increment(1);
            too_slow.store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(axum::Error::new(SlowUpload { rate }));
        }
        Ok(chunk)
    });
    axum::body::Body::from_stream(checked)
}

/// An upload body that arrived too slowly (see [`HttpOptions::upload_min_rate`]).
#[derive(Debug, thiserror::Error)]
#[error("the upload arrived at less than {rate} bytes per second")]
pub(crate) struct SlowUpload {
    rate: u64,
}

/// The largest body [`refuse`] reads before answering.
const DRAIN_BYTES: u64 = 1024 * 1024;

/// Sheds a request: reads what is left of its body first when it is small (a
/// declared length up to [`DRAIN_BYTES`], for at most 2 s), then answers
/// [`overloaded`]. A connection closed with unread bytes is reset, and behind a
/// proxy the reset loses the 503 on its way (the proxy reports no answer) or the
/// proxy drops the client's connection under its next request (measured with
/// HAProxy: `tests/cluster_load.rs`, uploads shed). A larger body is not read: the
/// answer says the connection closes.
async fn refuse(req: axum::extract::Request, reason: &'static str) -> axum::response::Response {
    use futures::StreamExt;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = req
        .headers()
        .contains_key(axum::http::header::TRANSFER_ENCODING);
    let mut res = overloaded(reason);
    match declared {
        Some(0) | None if !chunked => {}
        Some(n) if n <= DRAIN_BYTES => {
            let mut body = req.into_body().into_data_stream();
            let mut read = 0u64;
            let drained = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(Ok(chunk)) = body.next().await {
                    read += chunk.len() as u64;
                    if read > DRAIN_BYTES {
                        return false;
                    }
                }
                true
            })
            .await;
            if drained != Ok(true) {
                close(&mut res);
            }
        }
        _ => close(&mut res),
    }
    res
}

/// Marks an answer as the connection's last.
fn close(res: &mut axum::response::Response) {
    res.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
}

fn overloaded(reason: &'static str) -> axum::response::Response {
    ::metrics::counter!("kcl_http_requests_shed_total", "reason" => reason).increment(1);
    let mut res = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        format!("the server is handling as many {reason} as it can; retry shortly"),
    )
    .into_response();
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    res
}

/// Answers `503 timeout` when a request runs over [`REQUEST_TIMEOUT`] (uploads:
/// [`UPLOAD_TIMEOUT`]). Handlers that commit several steps run them in a task of
/// their own, so a timeout or a client hanging up never cuts a commit in half.
async fn deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limit = if is_upload(&req) {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => problem::timed_out_problem().into_response(),
    }
}
