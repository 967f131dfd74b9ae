//! The JSON REST API under `/api`, and the health checks.

mod audit;
mod books;
mod covers;
mod dto;
mod health;
mod rentals;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use kcl_core::Services;

pub(crate) use covers::{read_upload, status_url, MULTIPART_OVERHEAD};

/// The API routes; `upload_limit` is the largest cover upload, in bytes.
pub(crate) fn routes(upload_limit: u64) -> Router<Services> {
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
        .route("/api/rentals", get(rentals::list).post(rentals::create))
        .route("/api/rentals/{id}", get(rentals::get))
        .route("/api/rentals/{id}/return", post(rentals::return_rental))
        .route("/api/audit", get(audit::list))
}
