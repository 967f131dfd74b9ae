//! The JSON REST API under `/api`, and the health checks.

pub(crate) mod audit;
pub(crate) mod books;
pub(crate) mod covers;
pub(crate) mod dto;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod rentals;
pub(crate) mod sales;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use kcl_core::Services;

pub(crate) use covers::{read_upload, status_url, MULTIPART_OVERHEAD};
pub(crate) use jobs::read_job_form;
pub(crate) use sales::{ingest_received, make_report, receive_file, UploadQuery};

/// The API routes; `upload_limit` is the largest cover upload, `jobs_limit` the
/// largest OCR job request, in bytes.
pub(crate) fn routes(upload_limit: u64, jobs_limit: u64) -> Router<Services> {
    Router::new()
        .route("/health", get(health::ready))
        .route("/health/live", get(health::live))
        .route("/api/books", get(books::list).post(books::create))
        .route(
            "/api/books/{id}",
            get(books::get).put(books::update).delete(books::delete),
        )
        .route(
            "/api/books/{id}/cover",
            get(covers::cover)
                .post(covers::upload)
                .layer(DefaultBodyLimit::max(
                    upload_limit as usize + covers::MULTIPART_OVERHEAD,
                )),
        )
        .route("/api/books/{id}/cover/thumb", get(covers::thumbnail))
        .route("/api/processing", get(covers::status))
        .route(
            "/api/jobs",
            get(jobs::list)
                .post(jobs::create)
                .layer(DefaultBodyLimit::max(
                    jobs_limit as usize + covers::MULTIPART_OVERHEAD,
                )),
        )
        .route(
            "/api/jobs/{id}",
            get(jobs::get).patch(jobs::rename).delete(jobs::delete),
        )
        .route("/api/rentals", get(rentals::list).post(rentals::create))
        .route("/api/rentals/{id}", get(rentals::get))
        .route("/api/rentals/{id}/return", post(rentals::return_rental))
        .route("/api/audit", get(audit::list))
        .route(
            "/api/sales/files",
            post(sales::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/sales/summary", get(sales::summary))
        .route("/api/sales/daily", get(sales::daily))
        .route("/api/stock/{sku}", get(sales::stock).put(sales::set_stock))
        .route("/api/stock/{sku}/receipts", post(sales::receive_stock))
        .route("/api/reports", post(sales::create_report))
        .route("/api/reports/{name}", get(sales::get_report))
        .route("/api/openapi.json", get(crate::http::openapi::json))
        .route("/api/docs", get(crate::http::openapi::docs))
}
