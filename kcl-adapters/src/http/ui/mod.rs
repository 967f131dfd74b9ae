//! A plain server-rendered web UI (maud, HTML forms; one small script, served as a
//! file, reloads pages whose work is running and takes error pages' "Back" link
//! back): list and search books, create, edit and delete them, rent and return
//! copies, see a book's history, search the audit log.

mod audit;
mod charts;
mod forms;
mod jobs;
mod pages;
mod sales;

use crate::http::access::{Access, Role};
use crate::http::page::assets;
use crate::http::routes::{BodyLimit, Routes};

/// The pages and their forms; `upload_limit` is the largest cover upload,
/// `jobs_limit` the largest OCR job request, in bytes.
pub(crate) fn routes(upload_limit: u64, jobs_limit: u64) -> Routes {
    let staff = Role::Staff;
    let admin = Role::Admin;
    let (cover, job) = (
        BodyLimit::multipart(upload_limit),
        BodyLimit::multipart(jobs_limit),
    );
    Routes::new()
        .get("/jobs", Access::Read, jobs::index)
        .get("/jobs/{id}", Access::Read, jobs::job)
        .upload("/ui/jobs", admin, job, jobs::create)
        .post("/ui/jobs/{id}/delete", admin, jobs::delete)
        .get("/sales", admin, sales::index)
        .get("/audit", admin, audit::index)
        .upload("/ui/sales", admin, BodyLimit::Handler, sales::upload)
        .post("/ui/sales/report", admin, sales::report)
        .post("/ui/sales/single", staff, sales::record_sale)
        .upload("/ui/books/{id}/cover", staff, cover, forms::upload_cover)
        .get("/", Access::Read, pages::index)
        .get("/rentals", Access::Read, pages::rentals)
        .get("/books/{id}", Access::Read, pages::book)
        .post("/ui/books", admin, forms::create_book)
        .post("/ui/books/{id}", admin, forms::update_book)
        .post("/ui/books/{id}/delete", admin, forms::delete_book)
        .post("/ui/books/{id}/rent", staff, forms::rent)
        .post("/ui/rentals/{id}/return", staff, forms::return_rental)
        .same_origin()
        // The pages' style sheet and script, and the language link: the login page
        // needs them too.
        .get("/ui/static/{name}", Access::Public, assets::serve)
        .get(
            "/ui/lang/{locale}",
            Access::Public,
            crate::http::i18n::switch,
        )
}
