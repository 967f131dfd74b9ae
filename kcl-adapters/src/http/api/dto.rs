//! Wire formats of the REST API.

use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::domain::{Book, BookDraft, Money, Rental, RentalStatus, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A book as the API shows it, borrowed from the book (serialized without copies).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Book)]
pub(crate) struct BookOut<'a> {
    /// Id.
    id: Uuid,
    /// The ISBN-13, digits only.
    isbn: &'a str,
    /// Title.
    title: &'a str,
    /// Author.
    author: &'a str,
    /// Category (`General` unless given).
    category: &'a str,
    /// Year of publication.
    year: i32,
    /// Price in cents.
    price_cents: i64,
    /// Price as decimal text (`"39.90"`).
    #[serde(serialize_with = "as_text")]
    #[schema(value_type = String, example = "39.90")]
    price: Money,
    /// Copies owned.
    copies: u32,
    /// Copies not rented out.
    available: u32,
    /// Rentals ever made (what `sort=-rentals` orders by).
    times_rented: u64,
    /// Summary.
    summary: &'a str,
    /// The version, from 1; send it back with `PUT`.
    version: u64,
    /// Creation time (UTC).
    created_at: DateTime<Utc>,
    /// Last change (UTC).
    updated_at: DateTime<Utc>,
    /// The cover, once one was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    cover: Option<CoverOut>,
}

/// A book's cover as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Cover)]
pub(crate) struct CoverOut {
    /// The original image's key.
    key: String,
    /// Where to read the original image.
    url: String,
    /// Where to read the thumbnail's processing status.
    status_url: String,
    /// Where to read the thumbnail, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
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
            times_rented: b.times_rented,
            summary: &b.summary,
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
            cover: b.cover.as_ref().map(|c| CoverOut {
                key: c.original.clone(),
                url: crate::http::access::href(&format!("/api/books/{}/cover", b.id)),
                status_url: crate::http::forms::status_url(&c.original),
                thumbnail_url: c.thumbnail.as_ref().map(|_| {
                    crate::http::access::href(&format!("/api/books/{}/cover/thumb", b.id))
                }),
            }),
        }
    }
}

/// The body of `POST /api/books` and `PUT /api/books/{id}`; `version` (the version
/// the change is based on) is required by `PUT` and refused by `POST`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Dom Casmurro", "author": "Machado de Assis", "isbn": "978-85-359-1066-7",
    "category": "Romance", "year": 1899, "price_cents": 3990, "copies": 2
}))]
pub(crate) struct BookIn {
    /// The version the change is based on: required by `PUT`, refused by `POST`.
    #[serde(default)]
    #[schema(minimum = 1)]
    version: Option<u64>,
    /// Title, at most 300 characters.
    title: String,
    /// Author, at most 200 characters.
    author: String,
    /// ISBN-13 or ISBN-10, hyphens and spaces allowed; stored as ISBN-13.
    isbn: String,
    /// Category, at most 80 characters (default `General`).
    #[serde(default)]
    category: Option<String>,
    /// Year of publication, 1450 to next year.
    year: i64,
    /// Price in cents, 0 to 10^11 (default 0).
    #[serde(default)]
    price_cents: i64,
    /// Copies owned, 0 to 100,000 (default 1).
    #[serde(default = "one")]
    #[schema(default = 1)]
    copies: i64,
    /// Summary, at most 5000 characters.
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
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Rental)]
pub(crate) struct RentalOut {
    /// Id.
    id: Uuid,
    /// The book rented.
    book_id: Uuid,
    /// Who rented it.
    renter: String,
    /// When (UTC).
    rented_at: DateTime<Utc>,
    /// When it is due back.
    due_date: NaiveDate,
    /// When it came back, if it did.
    #[schema(required = true)]
    returned_at: Option<DateTime<Utc>>,
    /// Where the rental stands today.
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
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PageOut<T> {
    /// The items of this page.
    pub(crate) items: Vec<T>,
    /// The cursor of the next page, `null` on the last.
    #[schema(required = true)]
    pub(crate) next_cursor: Option<String>,
}
