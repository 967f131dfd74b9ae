use crate::http::access::href;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use kcl_core::domain::{BookDraft, BookId, RentalId, ValidationError};
use kcl_core::{ServiceError, Services};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::{ApiForm, ApiPath};
use crate::http::i18n::tr;
use crate::http::page::{layout, or_page, OrPage};

/// A book form as posted (every field as typed), and the values a form shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct BookForm {
    #[serde(default)]
    pub(super) version: String,
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) author: String,
    #[serde(default)]
    pub(super) isbn: String,
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) year: String,
    #[serde(default)]
    pub(super) price: String,
    #[serde(default)]
    pub(super) copies: String,
    #[serde(default)]
    pub(super) summary: String,
}

/// A refused book form, shown again as the user filled it in, with what is wrong
/// (the problem's status: 422 for invalid fields, 409 for a taken ISBN or a stale
/// version...). Nothing typed is lost.
fn refused(e: ServiceError, title: &str, action: &str, form: &BookForm, submit: &str) -> Response {
    let p = crate::http::problem::Problem::from(e);
    let form = super::pages::book_form(action, form, &p.errors, submit);
    crate::http::page::refused(&p, title, form)
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
    parse(field, v, "bad-number", &tr!("form-bad-number"))
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
    State(s): State<Arc<Services>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<BookForm>>,
) -> Response {
    let created = match f.draft() {
        Ok(draft) => s.catalog.create(draft).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(book) => Redirect::to(&href(&format!("/books/{}", book.id))).into_response(),
        Err(e) => refused(
            e,
            &tr!("catalog-add-heading"),
            "/ui/books",
            &f,
            &tr!("catalog-add"),
        ),
    }
}

pub(crate) async fn update_book(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<BookForm>>,
) -> Response {
    let version = or_page!(number("version", &f.version));
    let updated = match f.draft() {
        Ok(draft) => {
            s.catalog
                .update(BookId(id), draft, version.max(0) as u64)
                .await
        }
        Err(e) => Err(e),
    };
    match updated {
        Ok(book) => Redirect::to(&href(&format!("/books/{}", book.id))).into_response(),
        // A book that is gone has no form to go back to.
        Err(e @ ServiceError::NotFound { .. }) => {
            crate::http::page::error_page(crate::http::problem::Problem::from(e))
        }
        // Changed by someone else since the form was shown: the user's values on
        // the current version, so that saving again (after a look) goes through.
        Err(
            e @ ServiceError::Conflict {
                code: "version-conflict",
                ..
            },
        ) => {
            let mut f = f.clone();
            if let Ok(current) = s.catalog.get(BookId(id)).await {
                f.version = current.version.to_string();
            }
            refused(
                e,
                &tr!("book-edit-title", title = f.title.as_str()),
                &format!("/ui/books/{id}"),
                &f,
                &tr!("book-save-anyway"),
            )
        }
        Err(e) => refused(
            e,
            &tr!("book-edit-title", title = f.title.as_str()),
            &format!("/ui/books/{id}"),
            &f,
            &tr!("book-save"),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    version: String,
}

pub(crate) async fn delete_book(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<DeleteForm>>,
) -> Response {
    // The book page always sends the version it showed: without a readable one the
    // delete is refused, never done without its check.
    let version: u64 = or_page!(parse(
        "version",
        &f.version,
        "bad-number",
        &tr!("form-bad-version"),
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
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<RentForm>>,
) -> Response {
    let due = match f.due_date.trim() {
        "" => Ok(None),
        d => parse::<NaiveDate>("due_date", d, "bad-date", &tr!("form-bad-date")).map(Some),
    };
    let rented = match due {
        Ok(due) => s.rentals.rent(BookId(id), &f.renter, due).await,
        Err(e) => Err(e),
    };
    match rented {
        Ok(_) => Redirect::to(&href(&format!("/books/{id}"))).into_response(),
        // No such book: no form to go back to.
        Err(e @ ServiceError::NotFound { .. }) => {
            crate::http::page::error_page(crate::http::problem::Problem::from(e))
        }
        // Refused (a bad renter or date, no copy left): the form again, as typed.
        Err(e) => {
            let p = crate::http::problem::Problem::from(e);
            let status = crate::http::page::status_of(&p);
            let body = html! {
                div.error role="alert" {
                    p { strong { (p.detail) } }
                }
                (super::pages::rent_form(BookId(id), &f.renter, &f.due_date, &p.errors))
                p { a href=(href(&format!("/books/{id}"))) { (tr!("book-back")) } }
            };
            (status, layout(&tr!("rent-legend"), body)).into_response()
        }
    }
}

pub(crate) async fn return_rental(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    let r = or_page!(s.rentals.return_rental(RentalId(id)).await);
    Redirect::to(&href(&format!("/books/{}", r.book_id))).into_response()
}

pub(crate) async fn upload_cover(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
    req: axum::extract::Request,
) -> Response {
    or_page!(crate::http::forms::upload_cover(&s, BookId(id), req).await);
    Redirect::to(&href(&format!("/books/{id}"))).into_response()
}
