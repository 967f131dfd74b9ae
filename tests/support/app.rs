//! One in-process HTTP client for the facade's tests: [`TestApp`] sends a request
//! through a router (no socket) and collects the whole answer into a [`Reply`].
//! Used through `#[path = "support/app.rs"] mod app;`.
#![allow(dead_code)] // each test binary uses part of it

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A router under test.
#[derive(Clone)]
pub(crate) struct TestApp {
    router: Router,
}

/// A whole answer.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// `Content-Type`, or empty.
    pub(crate) content_type: String,
    /// `Location`, when there is one.
    pub(crate) location: Option<String>,
    pub(crate) bytes: Vec<u8>,
    /// The body as text (lossy UTF-8).
    pub(crate) text: String,
    /// The body as JSON, or `Value::Null` when it is not JSON.
    pub(crate) body: Value,
}

impl TestApp {
    pub(crate) fn new(router: Router) -> Self {
        Self { router }
    }

    /// A whole KCL opened from its configuration as a host opens it, on the embedded
    /// SQLite profile or (`sqlite` false) the in-memory adapters, in a fresh data
    /// folder, with `extra` variables; its router under test.
    pub(crate) async fn open(
        sqlite: bool,
        extra: &[(&str, &str)],
    ) -> (kcl::Kcl, Self, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut vars = std::collections::HashMap::from([(
            "KCL_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        )]);
        let memory: &[(&str, &str)] = &[
            ("KCL_DATABASE_URL", "memory://"),
            ("KCL_BLOBS", "memory://"),
            ("KCL_QUEUE", "memory://"),
        ];
        let profile = if sqlite { &[][..] } else { memory };
        for (k, v) in profile.iter().chain(extra) {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = kcl::Config::from_vars(&vars).expect("the configuration");
        let kcl = kcl::Kcl::open(&config).await.expect("open");
        let app = Self::new(kcl::http::router(kcl.services.clone()));
        (kcl, app, dir)
    }

    /// The router itself (to serve it, or to wrap it in more layers).
    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// Sends `req` and reads the whole answer.
    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("an answer");
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("the body").to_bytes().to_vec();
        let value = |name| {
            parts
                .headers
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().expect("an ASCII header").to_owned())
        };
        Reply {
            status: parts.status,
            content_type: value(header::CONTENT_TYPE).unwrap_or_default(),
            location: value(header::LOCATION),
            text: String::from_utf8_lossy(&bytes).into_owned(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers: parts.headers,
            bytes,
        }
    }

    /// `GET uri`.
    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).expect("a request"))
            .await
    }

    /// `POST uri` with `body` of `content_type`.
    pub(crate) async fn post(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> Reply {
        let req = Request::post(uri).header(header::CONTENT_TYPE, content_type);
        self.send(req.body(body.into()).expect("a request")).await
    }

    /// `method uri`, with `json` as an `application/json` body when given.
    pub(crate) async fn call(&self, method: Method, uri: &str, json: Option<Value>) -> Reply {
        let req = Request::builder().method(method).uri(uri);
        let req = match json {
            Some(v) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("a request")).await
    }
}
