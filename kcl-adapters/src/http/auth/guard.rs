//! The authorization in front of every route: identifies the caller as the route's
//! [`Access`] rule asks, refuses with `401`/`403` (a problem for the API, the login
//! page or an error page for the web UI), checks CSRF tokens on cookie-authenticated
//! writes, and makes the caller known to the handler and the pages.

use crate::http::access::href;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Access, Authenticator, Role};
use crate::http::access::{with_viewer, Viewer};
use crate::http::page::error_page;
use crate::http::problem::Problem;

/// Whether a request is for the JSON API (problems) rather than the web UI (pages).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path == "/metrics" || path.starts_with("/health")
}

fn unauthenticated(req: &Request, path: &str, why: &str) -> Response {
    if is_api(path) {
        let mut res =
            Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", why).into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kcl\""),
        );
        res
    } else {
        let target = format!(
            "/login?next={}",
            crate::http::page::url_encode(&return_to(req))
        );
        Redirect::to(&href(&target)).into_response()
    }
}

/// Where to go back after logging in: the page asked for, or for a form post (whose
/// URL only takes posts) the page the form was on, when it is one of ours.
fn return_to(req: &Request) -> String {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
    }
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let from_page = h(header::REFERER.as_str())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (Some(authority) == h(header::HOST.as_str()) && path.starts_with('/'))
                .then(|| crate::http::access::unbase(path).to_owned())
        });
    from_page.unwrap_or_else(|| "/".to_owned())
}

fn forbidden(path: &str, code: &str, detail: String) -> Response {
    let p = Problem::new(StatusCode::FORBIDDEN, code, detail);
    if is_api(path) {
        p.into_response()
    } else {
        error_page(p)
    }
}

/// Removes `csrf=...` from a query, returning the value.
fn take_csrf(uri: &Uri) -> (Option<String>, Option<Uri>) {
    let Some(q) = uri.query() else {
        return (None, None);
    };
    let mut token = None;
    let rest: Vec<&str> = q
        .split('&')
        .filter(|kv| match kv.strip_prefix("csrf=") {
            Some(v) => {
                token = Some(v.to_owned());
                false
            }
            None => true,
        })
        .collect();
    if token.is_none() {
        return (None, None);
    }
    let pq = if rest.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    (token, Uri::from_parts(parts).ok())
}

/// The rule of a request no route matched (`404`, `405`): reads need a reader (an
/// anonymous client learns nothing of which paths exist), anything else the admin.
fn unrouted(method: &Method) -> Access {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Access::Read
    } else {
        Access::Role(Role::Admin)
    }
}

/// The authorization middleware of a route whose rule is `rule` (`None`: the
/// answers of no route, see [`unrouted`]): identifies the caller, applies the rule,
/// checks CSRF tokens on cookie-authenticated writes, and makes the caller known to
/// the handler and the pages.
pub(crate) async fn authorize(
    State((auth, rule)): State<(Arc<Authenticator>, Option<Access>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let rule = rule.unwrap_or_else(|| unrouted(req.method()));
    // Who is calling: a bearer token wins over a cookie.
    let mut viewer = None;
    let mut session_sid = None;
    let mut bad_token = None;
    // A session cookie whose logout could not be checked (the database is down).
    let mut sessions_unknown = false;
    // Public routes need nobody's identity (open ones, like the login page, show
    // who is logged in).
    let identify = rule != Access::Public;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .filter(|_| identify);
    if let Some(value) = authorization {
        let token = value.to_str().ok().and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
        match token.map(|t| auth.verify_bearer(t.trim())) {
            Some(Ok(claims)) => {
                viewer = Some(Viewer {
                    role: claims.highest_role(),
                    name: claims.sub.clone(),
                    csrf: None,
                })
            }
            Some(Err(e)) => bad_token = Some(e.to_string()),
            None => bad_token = Some("the Authorization header must be `Bearer <token>`".into()),
        }
    } else if identify {
        match auth.session(req.headers()).await {
            Ok(Some(s)) => {
                viewer = Some(Viewer {
                    name: s.sub,
                    role: Some(s.role),
                    csrf: Some(auth.csrf_token(&s.sid)),
                });
                session_sid = Some(s.sid);
            }
            Ok(None) => {}
            Err(_) => sessions_unknown = true,
        }
    }
    let needed = match rule {
        Access::Public | Access::Open => None,
        Access::Read if auth.settings.public_reads && bad_token.is_none() => None,
        Access::Read => Some(Role::Reader),
        Access::Role(r) => Some(r),
    };
    if let Some(needed) = needed {
        if let Some(why) = bad_token {
            return unauthenticated(&req, &path, &why);
        }
        if viewer.is_none() && sessions_unknown {
            let p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "your session cannot be checked right now; retry in a moment",
            );
            return if is_api(&path) {
                p.into_response()
            } else {
                error_page(p)
            };
        }
        let Some(v) = &viewer else {
            return unauthenticated(
                &req,
                &path,
                "log in, or send `Authorization: Bearer <token>`",
            );
        };
        if v.role.is_none_or(|r| r < needed) {
            return forbidden(
                &path,
                "forbidden",
                format!("this needs the `{}` role", needed.as_str()),
            );
        }
    }
    // Cookie sessions are ambient: writes must prove they come from our own pages.
    let (token, stripped) = take_csrf(req.uri());
    if let Some(uri) = stripped {
        *req.uri_mut() = uri;
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (true, Some(sid)) = (unsafe_method, &session_sid) {
        let given = token.or_else(|| {
            req.headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        if !given.is_some_and(|t| auth.csrf_ok(sid, &t)) {
            return forbidden(
                &path,
                "csrf",
                "this form is out of date or came from another site; reload the page and try again"
                    .into(),
            );
        }
    }
    req.extensions_mut().insert(auth.clone());
    with_viewer(viewer, next.run(req)).await
}
