//! Wire formats of the REST API.

use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::domain::{Book, BookDraft, Money, Rental, RentalStatus, ValidationError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A book as the API shows it, borrowed from the book (serialized without copies).
#[derive(Debug, Serialize)]
pub(crate) struct BookOut<'a> {
    id: Uuid,
    isbn: &'a str,
    title: &'a str,
    author: &'a str,
    category: &'a str,
    year: i32,
    price_cents: i64,
    #[serde(serialize_with = "as_text")]
    price: Money,
    copies: u32,
    available: u32,
    summary: &'a str,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover: Option<CoverOut>,
}

/// A book's cover as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct CoverOut {
    key: String,
    url: String,
    status_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail_url: Option<String>,
}

fn as_text<S: serde::Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

impl<'a> From<&'a Book> for BookOut<'a> {
    fn from(b: &'a Book) -> Self {
        Self {
            id: b.id.0,
            isbn: b.isbn.as_str(),
            title: &b.title,
            author: &b.author,
            category: &b.category,
            year: b.year,
            price_cents: b.price.cents(),
            price: b.price,
            copies: b.copies,
            available: b.available(),
            summary: &b.summary,
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
            cover: b.cover.as_ref().map(|c| CoverOut {
                key: c.original.clone(),
                url: format!("/api/books/{}/cover", b.id),
                status_url: super::covers::status_url(&c.original),
                thumbnail_url: c
                    .thumbnail
                    .as_ref()
                    .map(|_| format!("/api/books/{}/cover/thumb", b.id)),
            }),
        }
    }
}

/// The body of `POST /api/books` and `PUT /api/books/{id}`; `version` (the version
/// the change is based on) is required by `PUT` and refused by `POST`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BookIn {
    #[serde(default)]
    version: Option<u64>,
    title: String,
    author: String,
    isbn: String,
    #[serde(default)]
    category: Option<String>,
    year: i64,
    #[serde(default)]
    price_cents: i64,
    #[serde(default = "one")]
    copies: i64,
    #[serde(default)]
    summary: String,
}

fn one() -> i64 {
    1
}

impl BookIn {
    fn draft(self) -> Result<BookDraft, ValidationError> {
        let mut b = BookDraft::builder(self.title, self.author, self.isbn)
            .year(self.year)
            .price_cents(self.price_cents)
            .copies(self.copies)
            .summary(self.summary);
        if let Some(c) = self.category {
            b = b.category(c);
        }
        b.build()
    }

    /// A new book's draft.
    pub(crate) fn into_new(self) -> Result<BookDraft, ValidationError> {
        if self.version.is_some() {
            return Err(ValidationError::field(
                "version",
                "unexpected",
                "is only sent with an update (PUT)",
            ));
        }
        self.draft()
    }

    /// An update's draft and the version it is based on.
    pub(crate) fn into_update(self) -> Result<(u64, BookDraft), ValidationError> {
        let Some(version) = self.version else {
            return Err(ValidationError::field(
                "version",
                "required",
                "is required: the version of the book the change is based on",
            ));
        };
        self.draft().map(|d| (version, d))
    }
}

/// A rental as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct RentalOut {
    id: Uuid,
    book_id: Uuid,
    renter: String,
    rented_at: DateTime<Utc>,
    due_date: NaiveDate,
    returned_at: Option<DateTime<Utc>>,
    status: RentalStatus,
}

impl RentalOut {
    pub(crate) fn new(r: Rental, today: NaiveDate) -> Self {
        Self {
            status: r.status(today),
            id: r.id.0,
            book_id: r.book_id.0,
            renter: r.renter.to_string(),
            rented_at: r.rented_at,
            due_date: r.due_date,
            returned_at: r.returned_at,
        }
    }
}

/// A page of items.
#[derive(Debug, Serialize)]
pub(crate) struct PageOut<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
}
