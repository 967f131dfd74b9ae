//! `GET/POST /login`, `POST /logout` and `POST /api/auth/token`.

use crate::http::access::href;
use std::sync::Arc;

use axum::extract::{Extension, FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::{Deserialize, Serialize};

use super::{Access, Authenticator, Role, User};
use crate::http::access::{form_action, viewer};
use crate::http::client_addr;
use crate::http::extract::{ApiForm, ApiJson, ApiQuery, JsonBodyProblems};
use crate::http::i18n::tr;
use crate::http::page::{layout, or_page};
use crate::http::problem::Problem;
use crate::http::routes::Routes;

/// The login, logout and (`ui`) token routes (the authenticator comes from the
/// request's extensions, which [`super::authorize`] fills in); without the web UI,
/// the token route only.
pub(crate) fn routes(ui: bool) -> Routes {
    let routes = if ui {
        Routes::new()
            .get("/login", Access::Open, login_page)
            .post("/login", Access::Open, login)
            // Any logged-in user may log out.
            .post("/logout", Role::Reader, logout)
            .same_origin()
    } else {
        Routes::new()
    };
    routes.post("/api/auth/token", Access::Public, token)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// Only local paths: `/books/1`, never `//evil.example` or `https://...`.
/// Where to go after logging in: `next` when it is a path on this site, else `/`.
///
/// Browsers drop tabs and line breaks anywhere in a URL and read `\\` as `/`, so
/// `/\t/evil.example` would take them to `//evil.example`, another site: a path
/// with any control character, white space or backslash is refused whole, as is
/// one starting `//`. (A CR/LF would also make an invalid `Location` header.)
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            n
        }
        _ => "/",
    }
}

fn form(next: &str, error: Option<&str>) -> Response {
    let body = html! {
        @if let Some(e) = error { div.error role="alert" { p { strong { (e) } } } }
        form method="post" action=(href("/login")) {
            input type="hidden" name="next" value=(next);
            label { (tr!("login-name")) " " input name="username" autocomplete="username" required maxlength="64" autofocus; }
            label { (tr!("login-password")) " " input name="password" type="password" autocomplete="current-password" required maxlength="1024"; }
            button type="submit" { (tr!("login-submit")) }
        }
    };
    layout(&tr!("login-title"), body).into_response()
}

async fn login_page(q: Result<ApiQuery<NextQuery>, Problem>) -> Response {
    let next = q.ok().and_then(|ApiQuery(q)| q.next);
    if let Some(v) = viewer() {
        let body = html! {
            p { (tr!("login-logged-in-as")) " " strong { (v.name) } "." }
            p { a href=(href(safe_next(next.as_deref()))) { (tr!("login-go-on")) } }
            form method="post" action=(form_action("/logout")) { button type="submit" { (tr!("login-log-out")) } }
        };
        return layout(&tr!("login-title"), body).into_response();
    }
    form(safe_next(next.as_deref()), None)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Why a login failed.
enum Refused {
    /// Wrong name or password.
    Wrong,
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
    /// Every password check stayed busy: retry in a moment.
    Busy,
}

/// Checks a name and password, counting attempts per user and per client address.
///
/// An attempt is counted before its password is checked (and taken back when it
/// succeeds), so attempts sent at once are refused past the limit instead of all
/// being checked; at most [`PASSWORD_CHECKS`](super::PASSWORD_CHECKS) checks run at
/// once per server, so a burst of logins cannot exhaust memory.
async fn check(
    auth: &Arc<Authenticator>,
    req_ip: Option<std::net::IpAddr>,
    name: &str,
    password: &str,
) -> Result<User, Refused> {
    // No user has a name over 64 bytes: such names share one key, so the failure
    // counts stay small (100,000 keys of at most ~70 bytes) whatever a client sends.
    let user_key = if name.len() <= 64 {
        format!("user:{}", name.to_lowercase())
    } else {
        "user:(over 64 bytes)".to_owned()
    };
    let mut keys = vec![user_key];
    if let Some(ip) = req_ip {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(wait) = auth.throttled(&keys).await {
        return Err(Refused::Throttled(wait));
    }
    auth.count_attempt(&keys).map_err(Refused::Throttled)?;
    auth.count_shared_attempt(&keys).await;
    if name.len() > 64 || password.len() > 1024 {
        return Err(Refused::Wrong);
    }
    let Some(permit) = auth.password_check_permit().await else {
        tracing::warn!(user = ?name, "login refused: every password check is busy");
        return Err(Refused::Busy);
    };
    let (a, n, p) = (auth.clone(), name.to_owned(), password.to_owned());
    let user = tokio::task::spawn_blocking(move || a.settings.users.check(&n, &p))
        .await
        .ok()
        .flatten();
    drop(permit);
    match user {
        Some(u) => {
            auth.succeeded(&keys).await;
            Ok(u)
        }
        None => {
            tracing::warn!(user = ?name, "failed login");
            Err(Refused::Wrong)
        }
    }
}

async fn login(Extension(auth): Extension<Arc<Authenticator>>, req: Request) -> Response {
    let client = client_addr::of_request(&req);
    let ApiForm(f) = or_page!(ApiForm::<LoginForm>::from_request(req, &()).await);
    let next = safe_next(Some(f.next.as_str())).to_owned();
    match check(&auth, client.ip, f.username.trim(), &f.password).await {
        Ok(user) => {
            tracing::info!(user = %user.name, role = user.role.as_str(), "logged in");
            let mut res = Redirect::to(&href(&next)).into_response();
            if let Ok(v) = HeaderValue::from_str(&auth.session_cookie(&user, client.https)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(Refused::Wrong) => {
            let mut res = form(&next, Some(tr!("login-wrong").as_str()));
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            res
        }
        Err(Refused::Throttled(wait)) => {
            let mut res = form(&next, Some(tr!("login-throttled").as_str()));
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            res
        }
        Err(Refused::Busy) => {
            let mut res = form(&next, Some(tr!("login-busy").as_str()));
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            res
        }
    }
}

async fn logout(Extension(auth): Extension<Arc<Authenticator>>, req: Request) -> Response {
    // Ended whether or not it was already (a logout is never refused).
    if let Some(s) = auth.session_claims(req.headers()) {
        auth.end_session(s).await;
    }
    let https = client_addr::of_request(&req).https;
    let mut res = Redirect::to(&href("/login")).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth.cookie("", 0, https)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /api/auth/token` body: a configured user's name and password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    username: String,
    password: String,
}

/// `POST /api/auth/token` answer: a bearer token for the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the token is valid.
    expires_in: u64,
    /// The user's role: `admin`, `staff` or `reader`.
    role: &'static str,
}

/// `POST /api/auth/token`: a bearer token for a user's name and password.
#[utoipa::path(
    post,
    path = "/api/auth/token",
    tag = "auth",
    operation_id = "create_token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "The body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong name or password (`bad-credentials`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this user or client (`too-many-attempts`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many logins at once on this server (`busy`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn token(
    Extension(auth): Extension<Arc<Authenticator>>,
    req: Request,
) -> Response {
    let ip = client_addr::of_request(&req).ip;
    let body = match ApiJson::<TokenRequest>::from_request(req, &()).await {
        Ok(ApiJson(b)) => b,
        Err(p) => return p.into_response(),
    };
    match check(&auth, ip, body.username.trim(), &body.password).await {
        Ok(user) => {
            let ttl = auth.settings.session_ttl;
            axum::Json(TokenResponse {
                access_token: auth.issuer.issue(&user.name, user.role, ttl),
                token_type: "Bearer",
                expires_in: ttl.as_secs(),
                role: user.role.as_str(),
            })
            .into_response()
        }
        Err(Refused::Wrong) => Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            tr!("login-problem-wrong"),
        )
        .into_response(),
        Err(Refused::Throttled(wait)) => {
            let mut res = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                tr!("login-problem-throttled"),
            )
            .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            res
        }
        Err(Refused::Busy) => {
            let mut res = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                tr!("login-problem-busy"),
            )
            .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[tokio::test]
    async fn failure_counts_never_keep_a_long_name() {
        let settings = super::super::AuthSettings::new(vec![7; 32]).unwrap();
        let auth = std::sync::Arc::new(super::Authenticator::new(settings));
        let long = "x".repeat(60_000);
        for name in [long.as_str(), "ana"] {
            let _ = super::check(&auth, None, name, "wrong").await;
        }
        auth.failures.run_pending_tasks();
        let longest = auth.failures.iter().map(|(k, _)| k.len()).max().unwrap();
        assert!(longest <= 70, "a key of {longest} bytes");
        assert_eq!(auth.failures.entry_count(), 2);
    }

    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/", "/books?q=a%20b", "/jobs/123", "/a/b//c"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
