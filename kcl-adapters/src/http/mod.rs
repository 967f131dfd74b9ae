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

mod access;
mod api;
pub mod auth;
pub mod client_addr;
mod consistency;
mod etag;
mod extract;
mod forms;
mod i18n;
mod limits;
pub mod metrics;
pub mod openapi;
mod page;
mod problem;
mod routes;
mod serve;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::MethodRouter;
use axum::Router;
use kcl_core::domain::{Currency, Locale};
use kcl_core::Services;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use access::{Access, Role};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use problem::Problem;
pub use routes::RouteRule;
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
#[non_exhaustive]
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
    /// Whether to record metrics, and whether and from where to serve `/metrics`
    /// (default [`MetricsExport::Record`](metrics::MetricsExport::Record): recorded into the process's recorder, if
    /// any; no `/metrics`, no global recorder installed).
    pub metrics: metrics::MetricsExport,
    /// The bearer token `/metrics` wants (default none: `/metrics` is public).
    pub metrics_token: Option<metrics::MetricsToken>,
    /// The load balancers and reverse proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed (default none): see [`client_addr`].
    pub trusted_proxies: TrustedProxies,
    /// Whether to serve the web UI (default on). Off, the router serves the API,
    /// its OpenAPI document, health checks, `/metrics` and (with authentication)
    /// the token route: no pages, no login form.
    pub ui: bool,
    /// The path the router is served under when a host nests it
    /// (`Router::nest("/library", kcl)`): the UI's links, form actions and
    /// redirects, and the URLs the API hands out, start with it. Default none
    /// (served at `/`). See [`base_path`](Self::base_path).
    pub base_path: Option<Arc<str>>,
    /// Whether the router answers what none of its routes match itself (`404` and
    /// `405` problems, behind the same checks as every route: the default). Off, it
    /// has no fallback, so it merges into an app that has its own (axum refuses to
    /// merge two routers that both have one); unrouted requests are the app's.
    pub fallbacks: bool,
    /// The language of the pages and of problem titles for every visitor (default
    /// none: each browser's `Accept-Language`, English when it names no language
    /// KCL has). A visitor's own choice, the pages' language link, comes first.
    pub locale: Option<Locale>,
    /// The currency the pages show amounts in (default [`Currency::BRL`]).
    pub currency: Currency,
}

/// A base path [`HttpOptions::base_path`] refuses.
#[derive(Debug, thiserror::Error)]
#[error("a base path is `/` followed by path segments, without a trailing `/`, query or fragment (like `/library`); not {0:?}")]
pub struct BadBasePath(pub String);

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            auth: None,
            max_in_flight: 512,
            max_uploads: 8,
            upload_min_rate: 16 * 1024,
            upload_grace: Duration::from_secs(10),
            metrics: metrics::MetricsExport::default(),
            metrics_token: None,
            trusted_proxies: TrustedProxies::none(),
            ui: true,
            base_path: None,
            fallbacks: true,
            locale: None,
            currency: Currency::default(),
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

    /// Requests handled at once (see [`max_in_flight`](Self::max_in_flight)).
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// Uploads handled at once (see [`max_uploads`](Self::max_uploads)).
    pub fn max_uploads(mut self, uploads: usize) -> Self {
        self.max_uploads = uploads;
        self
    }

    /// The slowest upload accepted, in bytes per second after `grace` (see
    /// [`upload_min_rate`](Self::upload_min_rate)).
    pub fn upload_min_rate(mut self, bytes_per_second: u64, grace: Duration) -> Self {
        self.upload_min_rate = bytes_per_second;
        self.upload_grace = grace;
        self
    }

    /// What to do with metrics (see [`metrics::MetricsExport`]).
    pub fn metrics(mut self, export: metrics::MetricsExport) -> Self {
        self.metrics = export;
        self
    }

    /// The bearer token `/metrics` wants.
    pub fn metrics_token(mut self, token: metrics::MetricsToken) -> Self {
        self.metrics_token = Some(token);
        self
    }

    /// Serves the web UI or not (see [`ui`](Self::ui)).
    pub fn ui(mut self, ui: bool) -> Self {
        self.ui = ui;
        self
    }

    /// The path a host nests the router under (see
    /// [`base_path`](Self::base_path)): `/` followed by segments, no trailing `/`.
    ///
    /// ```
    /// use kcl_adapters::http::HttpOptions;
    /// assert!(HttpOptions::default().base_path("/library").is_ok());
    /// assert!(HttpOptions::default().base_path("/library/").is_err());
    /// assert!(HttpOptions::default().base_path("library").is_err());
    /// ```
    pub fn base_path(mut self, path: &str) -> Result<Self, BadBasePath> {
        let ok = path.len() > 1
            && path.starts_with('/')
            && !path.ends_with('/')
            && !path.contains("//")
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~%".contains(&b));
        if !ok {
            return Err(BadBasePath(path.to_owned()));
        }
        self.base_path = Some(path.into());
        Ok(self)
    }

    /// Shows the pages and problem titles in `locale` (see [`locale`](Self::locale)).
    ///
    /// ```
    /// use kcl_adapters::http::HttpOptions;
    /// use kcl_core::domain::{Currency, Locale};
    ///
    /// let options = HttpOptions::default()
    ///     .locale(Locale::PtBr)
    ///     .currency(Currency::parse("USD").unwrap());
    /// assert_eq!(options.locale, Some(Locale::PtBr));
    /// ```
    pub fn locale(mut self, locale: Locale) -> Self {
        self.locale = Some(locale);
        self
    }

    /// Shows amounts in `currency` (see [`currency`](Self::currency)).
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Answers unrouted requests or leaves them to the app the router is merged
    /// into (see [`fallbacks`](Self::fallbacks)).
    pub fn fallbacks(mut self, fallbacks: bool) -> Self {
        self.fallbacks = fallbacks;
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
    let table = all_routes(&services, &options);
    if matches!(options.metrics, metrics::MetricsExport::InstallPrometheus) {
        metrics::prometheus();
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
    // Request slots are taken after authentication (inside it), so an anonymous
    // client can only use the small budget of the public routes (the login form, a
    // token request), never the slots authenticated requests need.
    let gate = Gate {
        limits: limits::Limits {
            general: Arc::new(Semaphore::new(options.max_in_flight.max(1))),
            uploads: Arc::new(Semaphore::new(options.max_uploads.max(1))),
            anonymous: Arc::new(Semaphore::new(limits::anonymous_budget(
                options.max_in_flight,
            ))),
            identified_only: authenticator.is_some(),
            max_in_flight: options.max_in_flight.max(1),
            upload_rate: (options.upload_min_rate, options.upload_grace),
        },
        auth: authenticator,
    };
    let unrouted = |h: MethodRouter<Arc<Services>>| gate.wrap(None, routes::Load::Request, h, true);
    let mut app = table
        .into_router(|rule, endpoint| gate.wrap(Some(rule.access), rule.load, endpoint, false));
    if options.fallbacks {
        // No route: the same checks, with the rule of a path nobody registered.
        app = app
            .fallback(unrouted(axum::routing::any(problem::not_found)))
            .method_not_allowed_fallback(unrouted(axum::routing::any(problem::method_not_allowed)));
    }
    let mut app = app
        .with_state(Arc::new(services))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    if let Some(base) = options.base_path.clone() {
        app = app.layer(from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                access::with_base(base.clone(), next.run(req))
            },
        ));
    }
    if options.metrics.records() {
        app = app.layer(from_fn(metrics::track));
    }
    app.layer(from_fn(scope_request_id))
        .layer(from_fn(consistency::read_your_writes))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        // Outside the panic handler, so that its problem is in the request's language.
        .layer(from_fn_with_state(
            i18n::LangSettings {
                locale: options.locale,
                currency: options.currency,
            },
            i18n::scope,
        ))
        // Inside the request's span, so that it can record `client_ip` there.
        .layer(from_fn_with_state(
            Arc::new(options.trusted_proxies),
            client_addr::resolve,
        ))
        // Pages are never framed (clickjacking) and no response is content-sniffed
        // into something else; links to other sites carry no path of ours.
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        // No inline style or script, nothing from elsewhere (see page::assets).
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(page::assets::CONTENT_SECURITY_POLICY),
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

/// Every route [`router_with`] serves with these options, each with its rule
/// ([`Access`]) and whether it is an upload: the table the router is built from.
///
/// ```
/// use axum::http::Method;
/// use kcl_adapters::http::{route_rules, Access, HttpOptions, Role};
///
/// let services = kcl_core::memory::MemoryBackend::new().services();
/// let rules = route_rules(&services, &HttpOptions::default());
/// let rule = |method: Method, path: &str| {
///     let r = rules.iter().find(|r| r.method == method && r.path == path).unwrap();
///     (r.access, r.upload)
/// };
/// assert_eq!(rule(Method::GET, "/api/books"), (Access::Read, false));
/// assert_eq!(rule(Method::POST, "/api/books"), (Access::Role(Role::Admin), false));
/// assert_eq!(rule(Method::POST, "/api/rentals"), (Access::Role(Role::Staff), false));
/// assert_eq!(rule(Method::POST, "/api/books/{id}/cover"), (Access::Role(Role::Staff), true));
/// assert_eq!(rule(Method::GET, "/api/sales/summary"), (Access::Role(Role::Admin), false));
/// assert_eq!(rule(Method::GET, "/health"), (Access::Public, false));
/// ```
pub fn route_rules(services: &Services, options: &HttpOptions) -> Vec<RouteRule> {
    all_routes(services, options).rules()
}

/// The routes of [`router_with`]: the API, the OpenAPI document, the web UI, the
/// metrics and, with authentication, the login and token routes.
fn all_routes(services: &Services, options: &HttpOptions) -> routes::Routes {
    let upload_limit = services.covers.settings().limits.max_bytes;
    let jobs_limit = services.jobs.settings().max_total_bytes;
    let mut table = api::routes(upload_limit, jobs_limit).merge(openapi::routes());
    if options.ui {
        table = table.merge(ui::routes(upload_limit, jobs_limit));
    }
    if options.metrics.serves() {
        let handle = match &options.metrics {
            metrics::MetricsExport::Prometheus(h) => Some(h.clone()),
            _ => None,
        };
        // Public: behind its own token when one is set.
        table = table.endpoint(
            "/metrics",
            Method::GET,
            Access::Public,
            routes::Load::Request,
            metrics_route(handle, options.metrics_token.clone()),
        );
    }
    if options.auth.is_some() {
        table = table.merge(auth::login::routes(options.ui));
    }
    table
}

/// What the checks around every route share: the authenticator (when
/// authentication is on) and the server's slots.
struct Gate {
    auth: Option<Arc<auth::Authenticator>>,
    limits: limits::Limits,
}

impl Gate {
    /// `endpoint` inside the checks of its rule, outermost first: authentication and
    /// `access` (`None`: no route matched), a request slot (and an upload slot), the
    /// deadline, ETags. The body limit is the route's own (see [`routes::Routes`]).
    /// `unrouted`: `endpoint` answers every method (a fallback), so the checks wrap
    /// its fallback too.
    fn wrap(
        &self,
        access: Option<Access>,
        load: routes::Load,
        endpoint: MethodRouter<Arc<Services>>,
        unrouted: bool,
    ) -> MethodRouter<Arc<Services>> {
        let endpoint = around(endpoint, from_fn(etag::etag), unrouted);
        let endpoint = around(
            endpoint,
            from_fn_with_state(limits::deadline_of(load), limits::deadline),
            unrouted,
        );
        let endpoint = around(
            endpoint,
            from_fn_with_state((self.limits.clone(), load), limits::shed),
            unrouted,
        );
        match &self.auth {
            Some(a) => around(
                endpoint,
                from_fn_with_state((a.clone(), access), auth::authorize),
                unrouted,
            ),
            None => endpoint,
        }
    }
}

/// `endpoint` wrapped in `layer`: its methods only, or (`all`) its fallback too.
fn around<L>(
    endpoint: MethodRouter<Arc<Services>>,
    layer: L,
    all: bool,
) -> MethodRouter<Arc<Services>>
where
    L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<axum::extract::Request, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Response:
        axum::response::IntoResponse + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
{
    if all {
        endpoint.layer(layer)
    } else {
        endpoint.route_layer(layer)
    }
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
        app = app.route("/metrics", metrics_route(None, metrics_token));
    }
    app.fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(Arc::new(services))
        .layer(from_fn_with_state(REQUEST_TIMEOUT, limits::deadline))
        .layer(CatchPanicLayer::custom(problem::panic_response))
}

/// `GET /metrics` from `handle` (`None`: the recorder [`metrics::prometheus`]
/// installed), behind `token` when there is one.
fn metrics_route(
    handle: Option<metrics::PrometheusHandle>,
    token: Option<metrics::MetricsToken>,
) -> axum::routing::MethodRouter<Arc<Services>> {
    let route = axum::routing::get(
        move |axum::extract::State(s): axum::extract::State<Arc<Services>>| {
            metrics::render(s, handle.clone())
        },
    );
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
