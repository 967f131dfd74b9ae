//! Every route has an access rule, and the router enforces it: the route table
//! (`route_rules`, which the router is built from) is the expected table below,
//! and every route of it answers an anonymous caller, a reader, a staff member and
//! an admin as its rule says (`401` or the login page, `403`, or the handler).
#![cfg(feature = "http")]

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use kcl_adapters::http::auth::{AuthSettings, TokenIssuer};
use kcl_adapters::http::metrics::MetricsExport;
use kcl_adapters::http::{route_rules, router_with, Access, HttpOptions, Role, RouteRule};
use kcl_core::memory::MemoryBackend;
use tower::ServiceExt;

const SECRET: &[u8] = b"routes test secret of 32 or more bytes";

const R: Access = Access::Read;
const P: Access = Access::Public;
const S: Access = Access::Role(Role::Staff);
const A: Access = Access::Role(Role::Admin);

/// Who may call what (docs/auth.md): method, path, rule, upload.
const EXPECTED: &[(&str, &str, Access, bool)] = &[
    ("GET", "/health", P, false),
    ("GET", "/health/live", P, false),
    ("GET", "/api/books", R, false),
    ("POST", "/api/books", A, false),
    ("POST", "/api/books/import", A, true),
    ("GET", "/api/books/{id}", R, false),
    ("PUT", "/api/books/{id}", A, false),
    ("DELETE", "/api/books/{id}", A, false),
    ("GET", "/api/books/{id}/cover", R, false),
    ("POST", "/api/books/{id}/cover", S, true),
    ("GET", "/api/books/{id}/cover/thumb", R, false),
    ("GET", "/api/processing", R, false),
    ("GET", "/api/jobs", R, false),
    ("POST", "/api/jobs", A, true),
    ("GET", "/api/jobs/", R, false),
    ("POST", "/api/jobs/", A, true),
    ("GET", "/api/jobs/{id}", R, false),
    ("PATCH", "/api/jobs/{id}", A, false),
    ("DELETE", "/api/jobs/{id}", A, false),
    ("GET", "/api/rentals", R, false),
    ("POST", "/api/rentals", S, false),
    ("GET", "/api/rentals/{id}", R, false),
    ("POST", "/api/rentals/{id}/return", S, false),
    ("GET", "/api/audit", A, false),
    ("POST", "/api/sales/files", A, true),
    ("POST", "/api/sales", S, false),
    ("GET", "/api/sales/summary", A, false),
    ("GET", "/api/sales/daily", A, false),
    ("GET", "/api/stock/{sku}", A, false),
    ("PUT", "/api/stock/{sku}", A, false),
    ("POST", "/api/stock/{sku}/receipts", A, false),
    ("POST", "/api/reports", A, false),
    ("GET", "/api/reports/{name}", A, false),
    ("GET", "/api/openapi.json", P, false),
    ("GET", "/api/docs", P, false),
    ("GET", "/jobs", R, false),
    ("GET", "/jobs/{id}", R, false),
    ("POST", "/ui/jobs", A, true),
    ("POST", "/ui/jobs/{id}/delete", A, false),
    ("GET", "/sales", A, false),
    ("GET", "/audit", A, false),
    ("POST", "/ui/sales", A, true),
    ("POST", "/ui/sales/report", A, false),
    ("POST", "/ui/sales/single", S, false),
    ("POST", "/ui/books/{id}/cover", S, true),
    ("GET", "/", R, false),
    ("GET", "/rentals", R, false),
    ("GET", "/books/{id}", R, false),
    ("POST", "/ui/books", A, false),
    ("POST", "/ui/books/{id}", A, false),
    ("POST", "/ui/books/{id}/delete", A, false),
    ("POST", "/ui/books/{id}/rent", S, false),
    ("POST", "/ui/rentals/{id}/return", S, false),
    ("GET", "/ui/static/{name}", P, false),
    ("GET", "/ui/lang/{locale}", P, false),
    ("GET", "/metrics", P, false),
    ("GET", "/login", Access::Open, false),
    ("POST", "/login", Access::Open, false),
    ("POST", "/logout", Access::Role(Role::Reader), false),
    ("POST", "/api/auth/token", P, false),
];

fn options(public_reads: bool) -> HttpOptions {
    let mut auth = AuthSettings::new(SECRET.to_vec()).unwrap();
    auth.public_reads = public_reads;
    HttpOptions::default()
        .metrics(MetricsExport::InstallPrometheus)
        .auth(auth)
}

#[test]
fn the_table_is_the_expected_one() {
    let services = MemoryBackend::new().services();
    let table: Vec<_> = route_rules(&services, &options(false))
        .into_iter()
        .map(|r| (r.method.to_string(), r.path, r.access, r.upload))
        .collect();
    let expected: Vec<_> = EXPECTED
        .iter()
        .map(|(m, p, a, u)| ((*m).to_owned(), *p, *a, *u))
        .collect();
    assert_eq!(table, expected);
    // Without authentication there is no login; without metrics, no `/metrics`.
    let bare = HttpOptions::default().metrics(MetricsExport::Off);
    let paths: Vec<_> = route_rules(&services, &bare)
        .into_iter()
        .map(|r| r.path)
        .collect();
    for absent in ["/login", "/logout", "/api/auth/token", "/metrics"] {
        assert!(!paths.contains(&absent), "{absent}");
    }
}

/// A concrete URI for a templated path.
fn concrete(path: &str) -> String {
    path.replace("{id}", "0190a9e0-0000-7000-8000-000000000000")
        .replace("{sku}", "SKU-1")
        .replace("{name}", "app.css")
}

/// How a request was answered, as far as access goes.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// `401` (the API) or off to the login page (the web UI).
    Unauthenticated,
    /// `403`.
    Forbidden,
    /// Past the checks: the handler's answer, whatever it is.
    Handled,
}

async fn call(app: &Router, rule: &RouteRule, role: Option<Role>) -> Answer {
    let mut req = Request::builder()
        .method(rule.method.clone())
        .uri(concrete(rule.path));
    if let Some(role) = role {
        let token = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
            "t",
            role,
            Duration::from_secs(60),
        );
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let to_login = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|l| l.starts_with("/login?next="));
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let routed = status != StatusCode::METHOD_NOT_ALLOWED
        && !String::from_utf8_lossy(&body).contains("no-such-route");
    assert!(routed, "{} {}: not routed", rule.method, rule.path);
    match status {
        StatusCode::UNAUTHORIZED if !rule.path.starts_with("/login") => Answer::Unauthenticated,
        StatusCode::SEE_OTHER if to_login => Answer::Unauthenticated,
        StatusCode::FORBIDDEN => Answer::Forbidden,
        _ => Answer::Handled,
    }
}

/// What the rule says `role` (`None`: anonymous) gets.
fn expected(access: Access, role: Option<Role>, public_reads: bool) -> &'static str {
    let needed = match access {
        Access::Public | Access::Open => return "handled",
        Access::Read if public_reads => return "handled",
        Access::Read => Role::Reader,
        Access::Role(r) => r,
    };
    match role {
        None => "unauthenticated",
        Some(r) if r < needed => "forbidden",
        Some(_) => "handled",
    }
}

#[tokio::test]
async fn every_route_answers_as_its_rule_says() {
    for public_reads in [false, true] {
        let services = MemoryBackend::new().services();
        let options = options(public_reads);
        let rules = route_rules(&services, &options);
        let app = router_with(services, options);
        for rule in &rules {
            for role in [
                None,
                Some(Role::Reader),
                Some(Role::Staff),
                Some(Role::Admin),
            ] {
                let got = match call(&app, rule, role).await {
                    Answer::Unauthenticated => "unauthenticated",
                    Answer::Forbidden => "forbidden",
                    Answer::Handled => "handled",
                };
                assert_eq!(
                    got,
                    expected(rule.access, role, public_reads),
                    "{} {} as {role:?} (public reads: {public_reads})",
                    rule.method,
                    rule.path
                );
            }
        }
    }
}

#[tokio::test]
async fn requests_no_route_answers_need_a_reader_or_the_admin() {
    let app = router_with(MemoryBackend::new().services(), options(false));
    let send = |method: Method, uri: &str, role: Option<Role>| {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(role) = role {
            let token = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
                "t",
                role,
                Duration::from_secs(60),
            );
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let app = app.clone();
        async move {
            app.oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    };
    // An anonymous client learns nothing of which paths exist.
    assert_eq!(send(Method::GET, "/api/nothing-here", None).await, 401);
    assert_eq!(send(Method::PATCH, "/api/books", None).await, 401);
    assert_eq!(
        send(Method::GET, "/api/nothing-here", Some(Role::Reader)).await,
        404
    );
    assert_eq!(
        send(Method::PATCH, "/api/books", Some(Role::Reader)).await,
        403
    );
    assert_eq!(
        send(Method::PATCH, "/api/books", Some(Role::Admin)).await,
        405
    );
    assert_eq!(
        send(Method::POST, "/api/nothing-here", Some(Role::Admin)).await,
        404
    );
}

/// The OCR seed's `/api/jobs/` answers as `/api/jobs` does, both ways.
#[tokio::test]
async fn the_jobs_collection_answers_with_a_trailing_slash_too() {
    use http_body_util::BodyExt;
    let app = kcl_adapters::http::router(MemoryBackend::new().services());
    let call = |method: Method, path: &'static str| {
        let app = app.clone();
        async move {
            let res = app
                .oneshot(
                    Request::builder()
                        .method(method)
                        .uri(path)
                        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
                        .body(Body::from("--x--\r\n"))
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        }
    };
    let (plain, slash) = (
        call(Method::GET, "/api/jobs").await,
        call(Method::GET, "/api/jobs/").await,
    );
    assert_eq!(plain.0, StatusCode::OK);
    assert_eq!(plain, slash);
    let (plain, slash) = (
        call(Method::POST, "/api/jobs").await,
        call(Method::POST, "/api/jobs/").await,
    );
    assert!(plain.0.is_client_error(), "{plain:?}");
    assert_eq!(plain.0, slash.0);
}
