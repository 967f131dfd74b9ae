//! The JSON REST API under `/api`, and the health checks.

mod audit;
mod books;
mod dto;
mod health;
mod rentals;

use axum::routing::{get, post};
use axum::Router;
use kcl_core::Services;

pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/health", get(health::ready))
        .route("/health/live", get(health::live))
        .route("/api/books", get(books::list).post(books::create))
        .route(
            "/api/books/{id}",
            get(books::get).put(books::update).delete(books::delete),
        )
        .route("/api/rentals", get(rentals::list).post(rentals::create))
        .route("/api/rentals/{id}", get(rentals::get))
        .route("/api/rentals/{id}/return", post(rentals::return_rental))
        .route("/api/audit", get(audit::list))
}
