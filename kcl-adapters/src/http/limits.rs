//! Load limits around each route: request and upload slots (load shedding, taken
//! after authentication), the minimum rate of upload bodies, and the deadlines.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::Semaphore;

use super::routes::Load;
use super::{access, api, problem, Problem, REQUEST_TIMEOUT, UPLOAD_TIMEOUT};

/// The slots of one server, shared by its routes.
#[derive(Clone)]
pub(crate) struct Limits {
    /// Requests handled at once.
    pub(crate) general: Arc<Semaphore>,
    /// Uploads handled at once.
    pub(crate) uploads: Arc<Semaphore>,
    /// Requests nobody is identified for (public routes, with authentication on).
    pub(crate) anonymous: Arc<Semaphore>,
    /// Whether authentication is on: off, every request counts as identified (a
    /// gateway in front authenticates).
    pub(crate) identified_only: bool,
    /// The size of `general`.
    pub(crate) max_in_flight: usize,
    /// [`super::HttpOptions::upload_min_rate`] and [`super::HttpOptions::upload_grace`].
    pub(crate) upload_rate: (u64, Duration),
}

/// Requests without an identity handled at once: an eighth of `max_in_flight`, at
/// least 4 and at most 64.
pub(crate) fn anonymous_budget(max_in_flight: usize) -> usize {
    (max_in_flight / 8).clamp(4, 64)
}

/// Load shedding: past the limits, `503 overloaded` with `Retry-After` at once.
/// Runs after authentication: requests without an identity (public routes) share a
/// small budget of their own. `load` is the route's (see [`Load`]).
pub(crate) async fn shed(
    State((limits, load)): State<(Limits, Load)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match load {
        Load::Liveness => return next.run(req).await,
        Load::Readiness => {
            // A server with every slot taken is not ready for more: the balancer
            // routes elsewhere until it is (its liveness stays 200, so nobody
            // replaces it).
            if limits.general.available_permits() == 0 {
                ::metrics::counter!("kcl_http_saturated_checks_total").increment(1);
                return api::health::saturated(limits.max_in_flight);
            }
            return next.run(req).await;
        }
        Load::Request | Load::Upload => {}
    }
    let upload = load == Load::Upload;
    let anonymous = limits.identified_only && access::viewer().is_none();
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

/// An upload body that arrived too slowly (see [`super::HttpOptions::upload_min_rate`]).
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

/// The deadline of a route with this load: [`UPLOAD_TIMEOUT`] for uploads,
/// [`REQUEST_TIMEOUT`] for the rest.
pub(crate) fn deadline_of(load: Load) -> Duration {
    if load == Load::Upload {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    }
}

/// Answers `503 timeout` when a request runs over `limit` (see [`deadline_of`]).
/// Handlers that commit several steps run them in a task of their own, so a timeout
/// or a client hanging up never cuts a commit in half.
pub(crate) async fn deadline(
    State(limit): State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => problem::timed_out_problem().into_response(),
    }
}
