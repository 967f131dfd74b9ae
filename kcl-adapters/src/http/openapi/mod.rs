//! The OpenAPI 3.1 document of the REST API, generated from the handlers'
//! `#[utoipa::path]` annotations, and the two routes that serve it:
//! `GET /api/openapi.json` (the document) and `GET /api/docs` (an HTML page made
//! from it on the server: no JavaScript, nothing downloaded; made in `page.rs`).

mod page;

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, Method};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::access::Access;
use super::problem::Problem;
use super::routes::Routes;
use super::{api, auth};

/// The two routes of the document: public whatever the authentication.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/api/openapi.json", Access::Public, json)
        .get("/api/docs", Access::Public, docs)
}

/// Whether `method path` is a route anyone may call (its rule is
/// [`Access::Public`]): such operations carry no security requirement.
fn public(method: &Method, path: &str) -> bool {
    static PUBLIC: OnceLock<Vec<(Method, &'static str)>> = OnceLock::new();
    let public = PUBLIC.get_or_init(|| {
        api::routes(0, 0)
            .merge(routes())
            .merge(auth::login::routes(true))
            .rules()
            .into_iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| (r.method, r.path))
            .collect()
    });
    public.iter().any(|(m, p)| m == method && *p == path)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KCL",
        version = env!("CARGO_PKG_VERSION"),
        description = "The KCL REST API: a book catalog with rentals, cover images, OCR jobs \
            and sales files. Errors are RFC 9457 problem documents \
            (`application/problem+json`) with a stable `code`; see `docs/http.md`.\n\n\
            Writes need a bearer token (JWT) with a role that may make them; reads may be \
            public by configuration.",
    ),
    paths(
        api::health::ready,
        api::health::live,
        api::books::list,
        api::books::create,
        api::books::import,
        api::books::get,
        api::books::update,
        api::books::delete,
        api::covers::upload,
        api::covers::cover,
        api::covers::thumbnail,
        api::covers::status,
        api::jobs::create,
        api::jobs::list,
        api::jobs::get,
        api::jobs::rename,
        api::jobs::delete,
        api::rentals::create,
        api::rentals::list,
        api::rentals::get,
        api::rentals::return_rental,
        api::audit::list,
        api::sales::upload,
        api::sales::single::record,
        api::sales::totals::summary,
        api::sales::totals::daily,
        api::sales::stock::stock,
        api::sales::stock::set_stock,
        api::sales::stock::receive_stock,
        api::sales::reports::create_report,
        api::sales::reports::get_report,
        json,
        docs,
        crate::http::auth::login::token,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "books", description = "The catalog"),
        (name = "covers", description = "Cover images and their thumbnails"),
        (name = "rentals", description = "Rentals of copies"),
        (name = "jobs", description = "OCR jobs (`docs/ocr.md`)"),
        (name = "sales", description = "Sales files, totals, stock and reports (`docs/sales.md`)"),
        (name = "audit", description = "Entities' histories"),
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Bearer tokens for configured users (`docs/auth.md`)"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// What every operation shares: the bearer scheme, security requirements on `/api`
/// operations and the problem answers any of them can give.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT whose role (admin, staff or reader) allows the operation",
                    ))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let read = method == Method::GET;
                if path.starts_with("/api/") && !public(&method, path) {
                    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
                    op.security = Some(if read {
                        // Reads may be public by configuration.
                        vec![SecurityRequirement::default(), bearer]
                    } else {
                        vec![bearer]
                    });
                    add_problem(op, "401", "No valid bearer token", false);
                    add_problem(op, "403", "The token's role may not do this", false);
                }
                add_problem(
                    op,
                    "500",
                    "A bug (`internal`); details only in the server log",
                    false,
                );
                add_problem(
                    op,
                    "503",
                    "A dependency is down (`unavailable`) or the request took too long (`timeout`)",
                    true,
                );
            }
        }
    }
}

/// The operations of a path, each with its method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::PATCH, &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

/// An answer that is a [`Problem`] document (`application/problem+json`).
pub(crate) fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

/// Adds a problem answer to an operation unless it documents that status already.
fn add_problem(op: &mut Operation, status: &str, description: &str, retry: bool) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let mut res = problem_response(description);
    if retry {
        res = res.header(
            "Retry-After",
            HeaderBuilder::new().description(Some("`5`")).build(),
        );
    }
    op.responses
        .responses
        .insert(status.to_owned(), RefOr::T(res.build()));
}

/// The OpenAPI 3.1 document of the REST API and the health checks: every
/// operation with its parameters, request bodies and answers (problem documents
/// included), the schemas, and the `bearer` security scheme.
///
/// ```
/// let doc = kcl_adapters::http::openapi::openapi();
/// assert!(doc.paths.paths.contains_key("/api/books"));
/// let json: serde_json::Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
/// assert_eq!(json["openapi"], "3.1.0");
/// ```
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document, serialized once.
fn document() -> &'static Bytes {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    DOC.get_or_init(|| match openapi().to_json() {
        Ok(s) => Bytes::from(s),
        // Serializing a document of strings and maps cannot fail; an empty object
        // keeps the route answering if it ever did.
        Err(e) => {
            tracing::error!(error = %e, "serializing the OpenAPI document");
            Bytes::from_static(b"{}")
        }
    })
}

/// The OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub(crate) async fn json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document().clone(),
    )
        .into_response()
}

/// The API's documentation as one HTML page, made from the OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "meta",
    operation_id = "docs",
    responses((status = 200, description = "The documentation page", content_type = "text/html", body = String))
)]
pub(crate) async fn docs() -> Html<String> {
    // The documentation, made once per language and base path; the page around it
    // (the navigation, the visitor's name and their form tokens) per request.
    type Made = std::collections::HashMap<(kcl_core::domain::Locale, String), (String, String)>;
    static MADE: OnceLock<std::sync::Mutex<Made>> = OnceLock::new();
    let key = (super::i18n::locale(), super::access::href("/"));
    let made = MADE.get_or_init(Default::default);
    let cached = made
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .cloned();
    let (title, body) = match cached {
        Some(done) => done,
        None => {
            let doc = serde_json::from_slice(document()).unwrap_or_default();
            let (title, body) = page::page(&doc, &openapi());
            let done = (title, body.into_string());
            let mut made = made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Languages times base paths: a handful; bounded all the same.
            if made.len() < 64 {
                made.insert(key, done.clone());
            }
            done
        }
    };
    super::page::layout(&title, maud::PreEscaped(body))
}
