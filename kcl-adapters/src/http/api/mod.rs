//! The JSON REST API under `/api`, and the health checks.

pub(crate) mod audit;
pub(crate) mod books;
pub(crate) mod covers;
pub(crate) mod dto;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod rentals;
pub(crate) mod sales;

use axum::body::Body;
use axum::http::header::HeaderName;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::ports::Blob;
use serde::Serialize;

use crate::http::access::{Access, Role};
use crate::http::routes::{BodyLimit, Load, Routes};

/// The API routes and the health checks; `upload_limit` is the largest cover
/// upload, `jobs_limit` the largest OCR job request, in bytes.
pub(crate) fn routes(upload_limit: u64, jobs_limit: u64) -> Routes {
    let (read, staff, admin) = (Access::Read, Role::Staff, Role::Admin);
    let (cover, job) = (
        BodyLimit::multipart(upload_limit),
        BodyLimit::multipart(jobs_limit),
    );
    Routes::new()
        .health("/health", Load::Readiness, health::ready)
        .health("/health/live", Load::Liveness, health::live)
        .get("/api/books", read, books::list)
        .post("/api/books", admin, books::create)
        .upload(
            "/api/books/import",
            admin,
            BodyLimit::Bytes(books::IMPORT_BODY_LIMIT),
            books::import,
        )
        .get("/api/books/{id}", read, books::get)
        .put("/api/books/{id}", admin, books::update)
        .delete("/api/books/{id}", admin, books::delete)
        .get("/api/books/{id}/cover", read, covers::cover)
        .upload("/api/books/{id}/cover", staff, cover, covers::upload)
        .get("/api/books/{id}/cover/thumb", read, covers::thumbnail)
        .get("/api/processing", read, covers::status)
        .get("/api/jobs", read, jobs::list)
        .upload("/api/jobs", admin, job, jobs::create)
        // The OCR seed's paths end in a slash: the same handlers answer there
        // (registered here, not by a path-rewriting layer, which would have to wrap
        // a host's whole app; not in the OpenAPI document, which has the plain form).
        .get("/api/jobs/", read, jobs::list)
        .upload("/api/jobs/", admin, job, jobs::create)
        .get("/api/jobs/{id}", read, jobs::get)
        .patch("/api/jobs/{id}", admin, jobs::rename)
        .delete("/api/jobs/{id}", admin, jobs::delete)
        .get("/api/rentals", read, rentals::list)
        .post("/api/rentals", staff, rentals::create)
        .get("/api/rentals/{id}", read, rentals::get)
        .post("/api/rentals/{id}/return", staff, rentals::return_rental)
        .get("/api/audit", admin, audit::list)
        .upload("/api/sales/files", admin, BodyLimit::Handler, sales::upload)
        .post("/api/sales", staff, sales::single::record)
        .get("/api/sales/summary", admin, sales::totals::summary)
        .get("/api/sales/daily", admin, sales::totals::daily)
        .get("/api/stock/{sku}", admin, sales::stock::stock)
        .put("/api/stock/{sku}", admin, sales::stock::set_stock)
        .post(
            "/api/stock/{sku}/receipts",
            admin,
            sales::stock::receive_stock,
        )
        .post("/api/reports", admin, sales::reports::create_report)
        .get("/api/reports/{name}", admin, sales::reports::get_report)
}

/// `status` with `body` as JSON and a `Location` header naming what the request
/// made (left out when there is none, or it cannot be a header).
pub(crate) fn located(
    status: StatusCode,
    body: impl Serialize,
    location: Option<&str>,
) -> Response {
    let mut res = (status, Json(body)).into_response();
    if let Some(Ok(v)) = location.map(HeaderValue::from_str) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// A stored file's bytes as the answer, with its content type
/// (`application/octet-stream` when it cannot be a header), `nosniff`, and `extra`.
pub(crate) fn file(blob: Blob, extra: (HeaderName, HeaderValue)) -> Response {
    let ct = HeaderValue::from_str(&blob.meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [
            (header::CONTENT_TYPE, ct),
            extra,
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Body::from(blob.data),
    )
        .into_response()
}
