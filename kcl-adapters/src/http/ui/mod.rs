//! A plain server-rendered web UI (maud, HTML forms, no JavaScript): list and search
//! books, create, edit and delete them, rent and return copies, see a book's history.

mod forms;
mod pages;

use axum::routing::{get, post};
use axum::Router;
use kcl_core::Services;

pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/", get(pages::index))
        .route("/books/{id}", get(pages::book))
        .route("/ui/books", post(forms::create_book))
        .route("/ui/books/{id}", post(forms::update_book))
        .route("/ui/books/{id}/delete", post(forms::delete_book))
        .route("/ui/books/{id}/rent", post(forms::rent))
        .route("/ui/rentals/{id}/return", post(forms::return_rental))
}
