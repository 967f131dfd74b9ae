//! The OpenAPI document against the router: every API route of the route table
//! (`route_rules`, which the router is built from) is documented, with exactly the
//! methods the table and the router answer; the document is OpenAPI 3.1;
//! `/api/openapi.json` and `/api/docs` answer.
#![cfg(feature = "http")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use kcl_adapters::http::auth::{AuthSettings, Role, TokenIssuer};
use kcl_adapters::http::openapi::openapi;
use kcl_adapters::http::{route_rules, router_with, Access, HttpOptions};
use kcl_core::memory::MemoryBackend;
use serde_json::Value;
use tower::ServiceExt;

const SECRET: &[u8] = b"openapi test secret of 32+ bytes!!";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The options of [`app`]: authentication on, so the token route exists.
fn options() -> HttpOptions {
    HttpOptions::default().auth(AuthSettings::new(SECRET.to_vec()).unwrap())
}

/// Every API and health route of the route table, with its methods: a route added
/// there and not documented fails here.
fn registered() -> BTreeMap<String, BTreeSet<String>> {
    let mut paths = BTreeMap::<String, BTreeSet<String>>::new();
    for r in route_rules(&MemoryBackend::new().services(), &options()) {
        // A path ending in `/` is the trailing-slash twin of a documented route (the
        // OCR seed's `/api/jobs/`), on the same handler: the document has the plain
        // form only.
        if r.path.len() > 1 && r.path.ends_with('/') {
            continue;
        }
        if r.path.starts_with("/api") || r.path.starts_with("/health") {
            paths
                .entry(r.path.to_owned())
                .or_default()
                .insert(r.method.as_str().to_ascii_lowercase());
        }
    }
    paths
}

/// The document as JSON, as a client reads it.
fn document() -> Value {
    let text = openapi().to_json().expect("the document serializes");
    serde_json::from_str(&text).expect("the document is JSON")
}

fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (*m).to_owned())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The router with authentication on (so the token route exists); requests carry an
/// admin token.
fn app() -> Router {
    router_with(MemoryBackend::new().services(), options())
}

async fn send(app: &Router, method: Method, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let token = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "t",
        Role::Admin,
        Duration::from_secs(60),
    );
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, ct, body)
}

/// A concrete URI for a templated path.
fn concrete(path: &str) -> String {
    path.replace("{id}", "0190a9e0-0000-7000-8000-000000000000")
        .replace("{sku}", "SKU-1")
        .replace("{name}", "missing.csv")
}

/// The methods the router routes on a path: those not answered with the
/// `method-not-allowed` problem.
async fn routed_methods(app: &Router, path: &str) -> BTreeSet<String> {
    let mut methods = BTreeSet::new();
    for m in METHODS {
        let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        let (status, _, body) = send(app, method, &concrete(path)).await;
        let problem: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_ne!(
            problem["code"], "no-such-route",
            "{m} {path}: the router does not know the path"
        );
        if status != StatusCode::METHOD_NOT_ALLOWED {
            methods.insert(m.to_owned());
        }
    }
    methods
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "KCL");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn every_registered_route_is_documented_with_its_methods() {
    let doc = document();
    let documented = documented(&doc);
    let registered = registered();
    assert!(registered.len() > 20, "the table: {registered:?}");
    let missing: Vec<_> = registered
        .keys()
        .filter(|p| !documented.contains_key(*p))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without documentation: {missing:?}"
    );
    let extra: Vec<_> = documented
        .keys()
        .filter(|p| !registered.contains_key(*p))
        .collect();
    assert!(extra.is_empty(), "documented paths not routed: {extra:?}");
    let app = app();
    for (path, methods) in &documented {
        assert_eq!(
            &registered[path], methods,
            "{path}: the table's methods (left) against the document's (right)"
        );
        assert_eq!(
            &routed_methods(&app, path).await,
            methods,
            "{path}: the router's methods (left) against the document's (right)"
        );
    }
}

#[test]
fn every_api_operation_is_documented_fully() {
    let doc = document();
    let rules = route_rules(&MemoryBackend::new().services(), &options());
    let public: Vec<_> = rules
        .iter()
        .filter(|r| r.path.starts_with("/api/") && r.access == Access::Public)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        public,
        ["/api/openapi.json", "/api/docs", "/api/auth/token"],
        "the public API routes"
    );
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let what = format!("{m} {path}");
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(ids.insert(id), "{what}: a duplicate operationId");
            assert!(op["summary"].is_string(), "{what}: no summary");
            assert!(op["tags"][0].is_string(), "{what}: no tag");
            let responses = op["responses"].as_object().unwrap();
            for status in ["500", "503"] {
                assert!(responses.contains_key(status), "{what}: no {status}");
            }
            // Public by its route's rule, or behind a bearer token.
            let public = rules.iter().any(|r| {
                r.path == path
                    && r.method.as_str().eq_ignore_ascii_case(m)
                    && r.access == Access::Public
            });
            let guarded = path.starts_with("/api/") && !public;
            if guarded {
                for status in ["401", "403"] {
                    let content = &responses[status]["content"]["application/problem+json"];
                    assert!(content.is_object(), "{what}: no {status} problem");
                }
                let security = op["security"].as_array().expect("security");
                let optional = security.iter().any(|r| r == &serde_json::json!({}));
                assert_eq!(optional, m == "get", "{what}: security {security:?}");
            }
            // Every templated path parameter is declared.
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let declared =
                        op["parameters"].as_array().into_iter().flatten().any(|p| {
                            p["name"] == name && p["in"] == "path" && p["required"] == true
                        });
                    assert!(declared, "{what}: path parameter {name} not declared");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_document_and_its_page_are_served() {
    let app = app();
    let (status, ct, body) = send(&app, Method::GET, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/json");
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, document());

    let (status, ct, body) = send(&app, Method::GET, "/api/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(body).unwrap();
    for needle in [
        "/api/books/{id}/cover",
        "list_books",
        "application/problem+json",
        "id=\"schema-Problem\"",
    ] {
        assert!(page.contains(needle), "the page lacks {needle}");
    }
    assert!(!page.contains("<script"), "the page has a script");
    assert!(
        !page.contains("https://"),
        "the page fetches from elsewhere"
    );

    // The web UI links to it.
    let (_, _, body) = send(&app, Method::GET, "/").await;
    assert!(String::from_utf8_lossy(&body).contains("href=\"/api/docs\""));
}
