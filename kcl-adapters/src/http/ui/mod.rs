//! A plain server-rendered web UI (maud, HTML forms; one small script, served as a
//! file, reloads pages whose work is running and takes error pages' "Back" link
//! back): list and search books, create, edit and delete them, rent and return
//! copies, see a book's history.

pub(crate) mod api_docs;
pub(crate) mod assets;
mod forms;
mod jobs;
mod pages;
mod sales;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kcl_core::Services;

use crate::http::problem::Problem;

pub(crate) use pages::{error_page, layout};

pub(crate) fn routes(upload_limit: u64, jobs_limit: u64) -> Router<Services> {
    Router::new()
        .route("/jobs", get(jobs::index))
        .route("/jobs/{id}", get(jobs::job))
        .route(
            "/ui/jobs",
            post(jobs::create).layer(axum::extract::DefaultBodyLimit::max(
                jobs_limit as usize + crate::http::api::MULTIPART_OVERHEAD,
            )),
        )
        .route("/ui/jobs/{id}/delete", post(jobs::delete))
        .route("/sales", get(sales::index))
        .route(
            "/ui/sales",
            post(sales::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/ui/sales/report", post(sales::report))
        .route(
            "/ui/books/{id}/cover",
            post(forms::upload_cover).layer(axum::extract::DefaultBodyLimit::max(
                upload_limit as usize + crate::http::api::MULTIPART_OVERHEAD,
            )),
        )
        .route("/", get(pages::index))
        .route("/rentals", get(pages::rentals))
        .route("/books/{id}", get(pages::book))
        .route("/ui/books", post(forms::create_book))
        .route("/ui/books/{id}", post(forms::update_book))
        .route("/ui/books/{id}/delete", post(forms::delete_book))
        .route("/ui/books/{id}/rent", post(forms::rent))
        .route("/ui/rentals/{id}/return", post(forms::return_rental))
        .route_layer(axum::middleware::from_fn(same_origin))
        .route("/ui/static/{name}", get(assets::serve))
}

/// Refuses form posts from other sites (cross-site request forgery): the browser's
/// `Sec-Fetch-Site` must not say `cross-site`, and an `Origin` must name this host.
pub(crate) async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::POST && !from_this_site(&req) {
        return pages::error_page(Problem::new(
            StatusCode::FORBIDDEN,
            "cross-site-form",
            "this form was posted from another site",
        ));
    }
    next.run(req).await
}

fn from_this_site(req: &Request) -> bool {
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if h("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    match (h(header::ORIGIN.as_str()), h(header::HOST.as_str())) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}
