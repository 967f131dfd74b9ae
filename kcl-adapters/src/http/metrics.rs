//! `/metrics` in the Prometheus text format, and the request metrics middleware.
//!
//! KCL records through the [`metrics`] facade, so a host that installs its own
//! recorder gets every series too. Series:
//!
//! | name | labels | what |
//! |---|---|---|
//! | `kcl_http_requests_total` | `method`, `route`, `status` | answered requests |
//! | `kcl_http_request_duration_seconds` | `method`, `route`, `status` | latency histogram |
//! | `kcl_http_requests_shed_total` | `reason` | requests refused with `503` under load |
//! | `kcl_queue_messages` | `queue`, `state` (`visible`, `in_flight`, `dead_lettered`) | queue depth, read at scrape |
//! | `kcl_queue_oldest_age_seconds` | `queue` | age of the oldest live message (not on SQS) |
//! | `kcl_tasks_total` | `kind`, `outcome` (`done`, `failed`, `retried`, `dead_lettered`) | worker tasks |
//! | `kcl_task_duration_seconds` | `kind` | task latency histogram |
//! | `kcl_ingest_rows_total` | `outcome` (`loaded`, `rejected`) | sales rows |
//! | `kcl_cache_requests_total` | `cache` (`book`, `list`), `result` (`hit`, `miss`) | catalog cache |
//! | `kcl_build_info` | `version` | always `1`: the running build's version |

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kcl_core::Services;
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// Latency buckets, in seconds: 0.5 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// What the HTTP host does with its metrics ([`HttpOptions::metrics`](super::HttpOptions::metrics)).
///
/// KCL records through the [`metrics`] facade; a router never installs a global
/// recorder unless told to ([`InstallPrometheus`](Self::InstallPrometheus)), so a
/// host's own recorder works whatever the order things are built in.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum MetricsExport {
    /// Record into whatever recorder the process has (the host's own, or none),
    /// and serve no `/metrics` (the default).
    #[default]
    Record,
    /// Install KCL's Prometheus recorder as the process's global recorder (once per
    /// process; if the host installed another first, `/metrics` answers `404`) and
    /// serve `/metrics` from it: what the `kcl` server does.
    InstallPrometheus,
    /// Serve `/metrics` from a Prometheus recorder the host installed itself.
    Prometheus(PrometheusHandle),
    /// Record nothing, serve no `/metrics`.
    Off,
}

impl std::fmt::Debug for MetricsExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Record => "Record",
            Self::InstallPrometheus => "InstallPrometheus",
            Self::Prometheus(_) => "Prometheus(..)",
            Self::Off => "Off",
        })
    }
}

impl MetricsExport {
    /// Whether requests are recorded.
    pub(crate) fn records(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Whether `/metrics` is served.
    pub(crate) fn serves(&self) -> bool {
        matches!(self, Self::InstallPrometheus | Self::Prometheus(_))
    }
}

/// The process's Prometheus recorder, installed on first use. `None` when the host
/// installed another recorder first (then `/metrics` answers 404 and the host's
/// recorder gets the series).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::gauge!("kcl_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            // Histograms keep their samples until upkeep folds them in: do it every few
            // seconds, so memory stays bounded however rarely /metrics is scraped.
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("kcl-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                });
            Some(handle)
        })
        .as_ref()
}

/// Counts and times every request under its route pattern (`/api/books/{id}`), so
/// ids do not explode the label set.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = static_method(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    let labels = [
        ("method", metrics::SharedString::const_str(method)),
        ("route", metrics::SharedString::from_owned(route)),
        ("status", status_label(status)),
    ];
    metrics::counter!("kcl_http_requests_total", &labels).increment(1);
    metrics::histogram!("kcl_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}

/// The bearer token `/metrics` wants (`KCL_METRICS_TOKEN`). Without one, `/metrics`
/// is public: anyone who reaches the port reads the request and queue figures.
///
/// The token itself is not kept: a keyed hash of it is, and a request's token is
/// compared with it in constant time.
///
/// ```
/// use kcl_adapters::http::metrics::MetricsToken;
/// let token = MetricsToken::new("scrape-token-0123456789").unwrap();
/// assert!(token.matches("scrape-token-0123456789"));
/// assert!(!token.matches("scrape-token-0123456780"));
/// assert!(MetricsToken::new("short").is_err());
/// assert!(MetricsToken::new("sixteen bytes with spaces").is_err());
/// ```
#[derive(Clone)]
pub struct MetricsToken {
    key: [u8; 32],
    tag: Vec<u8>,
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// Why a metrics token cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the metrics token must be {MIN_TOKEN_BYTES} or more bytes of visible ASCII (no spaces)")]
pub struct BadMetricsToken;

/// The shortest metrics token accepted, in bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

impl MetricsToken {
    /// A token of at least [`MIN_TOKEN_BYTES`] visible ASCII characters (what an
    /// `Authorization` header carries).
    pub fn new(token: &str) -> Result<Self, BadMetricsToken> {
        if token.len() < MIN_TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadMetricsToken);
        }
        let key = crate::http::auth::random_bytes::<32>();
        let tag = Self::tag_with(&key, token);
        Ok(Self { key, tag })
    }

    fn tag_with(key: &[u8; 32], token: &str) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `given` is the token (compared in constant time).
    pub fn matches(&self, given: &str) -> bool {
        use hmac::{KeyInit, Mac};
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(given.as_bytes());
        mac.verify_slice(&self.tag).is_ok()
    }
}

/// Lets a request to `/metrics` through only with `Authorization: Bearer <token>`;
/// `401` otherwise.
pub(crate) async fn require_token(
    State(token): State<std::sync::Arc<MetricsToken>>,
    req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if given.is_some_and(|t| token.matches(t)) {
        return next.run(req).await;
    }
    let mut res = crate::http::problem::Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "/metrics needs `Authorization: Bearer <KCL_METRICS_TOKEN>`",
    )
    .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"kcl-metrics\""),
    );
    res
}

/// `GET /metrics`, from `handle`, or (`None`) from the recorder
/// [`prometheus`] installed.
pub(crate) async fn render(s: Arc<Services>, handle: Option<PrometheusHandle>) -> Response {
    let Some(handle) = handle.or_else(|| prometheus().cloned()) else {
        return crate::http::problem::Problem::new(
            StatusCode::NOT_FOUND,
            "metrics-disabled",
            "another metrics recorder is installed in this process",
        )
        .into_response();
    };
    for (name, queue) in s.queues.iter() {
        match queue.stats().await {
            Ok(st) => {
                for (state, n) in [
                    ("visible", st.visible),
                    ("in_flight", st.in_flight),
                    ("dead_lettered", st.dead_lettered),
                ] {
                    metrics::gauge!("kcl_queue_messages", "queue" => *name, "state" => state)
                        .set(n as f64);
                }
                if let Some(age) = st.oldest_age_secs {
                    metrics::gauge!("kcl_queue_oldest_age_seconds", "queue" => *name)
                        .set(age as f64);
                }
            }
            Err(e) => tracing::warn!(queue = name, error = %e, "metrics: queue stats failed"),
        }
    }
    let mut res = handle.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// The method as a label without allocating (other methods are `other`).
fn static_method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status as a label: the common ones without allocating.
fn status_label(s: StatusCode) -> metrics::SharedString {
    let common = match s.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return metrics::SharedString::from_owned(s.as_u16().to_string()),
    };
    metrics::SharedString::const_str(common)
}
