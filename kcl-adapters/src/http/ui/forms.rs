use crate::http::access::href;
use std::str::FromStr;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use kcl_core::domain::{BookDraft, BookId, RentalId, ValidationError};
use kcl_core::{ServiceError, Services};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::{ApiForm, ApiPath};
use crate::http::page::{or_page, OrPage};

#[derive(Debug, Deserialize)]
pub(crate) struct BookForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    isbn: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    copies: String,
    #[serde(default)]
    summary: String,
}

/// The text of the form's `field` parsed as a `T`, or its `code` and `message` as a
/// validation error.
fn parse<T: FromStr>(
    field: &str,
    text: &str,
    code: &'static str,
    message: &str,
) -> Result<T, ServiceError> {
    text.trim()
        .parse()
        .map_err(|_| ValidationError::field(field, code, message).into())
}

fn number(field: &str, v: &str) -> Result<i64, ServiceError> {
    parse(field, v, "bad-number", "must be a whole number")
}

impl BookForm {
    fn draft(&self) -> Result<BookDraft, ServiceError> {
        let year = number("year", &self.year)?;
        let copies = number("copies", &self.copies)?;
        let price = if self.price.trim().is_empty() {
            "0"
        } else {
            self.price.as_str()
        };
        Ok(BookDraft::builder(&self.title, &self.author, &self.isbn)
            .category(&self.category)
            .year(year)
            .price_text(price)
            .copies(copies)
            .summary(&self.summary)
            .build()?)
    }
}

pub(crate) async fn create_book(
    State(s): State<Services>,
    OrPage(ApiForm(f)): OrPage<ApiForm<BookForm>>,
) -> Response {
    let draft = or_page!(f.draft());
    let book = or_page!(s.catalog.create(draft).await);
    Redirect::to(&href(&format!("/books/{}", book.id))).into_response()
}

pub(crate) async fn update_book(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<BookForm>>,
) -> Response {
    let draft = or_page!(f.draft());
    let version = or_page!(number("version", &f.version));
    let book = or_page!(
        s.catalog
            .update(BookId(id), draft, version.max(0) as u64)
            .await
    );
    Redirect::to(&href(&format!("/books/{}", book.id))).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    version: String,
}

pub(crate) async fn delete_book(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<DeleteForm>>,
) -> Response {
    // The book page always sends the version it showed: without a readable one the
    // delete is refused, never done without its check.
    let version: u64 = or_page!(parse(
        "version",
        &f.version,
        "bad-number",
        "the form has no valid version: reload the page",
    ));
    or_page!(s.catalog.delete(BookId(id), Some(version)).await);
    Redirect::to(&href("/")).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct RentForm {
    #[serde(default)]
    renter: String,
    #[serde(default)]
    due_date: String,
}

pub(crate) async fn rent(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<RentForm>>,
) -> Response {
    let due = match f.due_date.trim() {
        "" => None,
        d => Some(or_page!(parse::<NaiveDate>(
            "due_date",
            d,
            "bad-date",
            "must be a date like 2026-12-31",
        ))),
    };
    or_page!(s.rentals.rent(BookId(id), &f.renter, due).await);
    Redirect::to(&href(&format!("/books/{id}"))).into_response()
}

pub(crate) async fn return_rental(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    let r = or_page!(s.rentals.return_rental(RentalId(id)).await);
    Redirect::to(&href(&format!("/books/{}", r.book_id))).into_response()
}

pub(crate) async fn upload_cover(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    req: axum::extract::Request,
) -> Response {
    or_page!(crate::http::forms::upload_cover(&s, BookId(id), req).await);
    Redirect::to(&href(&format!("/books/{id}"))).into_response()
}
