use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::search::fold;
use super::validation::{text, Collector};
use super::{Isbn, Money, ValidationError};

/// The identifier of a book (a UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BookId(pub Uuid);

impl fmt::Display for BookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BookId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| ValidationError::field("id", "bad-uuid", "must be a UUID"))
    }
}

/// Length limits of a book's text fields, in characters.
#[derive(Debug, Clone, Copy)]
pub struct BookLimits;

impl BookLimits {
    /// Longest title.
    pub const TITLE: usize = 300;
    /// Longest author.
    pub const AUTHOR: usize = 200;
    /// Longest category.
    pub const CATEGORY: usize = 80;
    /// Longest summary.
    pub const SUMMARY: usize = 5000;
    /// Most copies of one book.
    pub const COPIES: i64 = 100_000;
    /// Earliest publication year.
    pub const FIRST_YEAR: i32 = 1450;
}

/// A book in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// The book's id, given by the catalog when the book is created.
    pub id: BookId,
    /// Canonical ISBN-13, unique in the catalog.
    pub isbn: Isbn,
    /// Title as entered, trimmed (at most [`BookLimits::TITLE`] characters); sorted
    /// and searched folded.
    pub title: String,
    /// Author as entered (trimmed); sorted and searched folded.
    pub author: String,
    /// Category (compared case-insensitively in filters).
    pub category: String,
    /// Publication year.
    pub year: i32,
    /// Rental price.
    pub price: Money,
    /// Copies the library owns.
    pub copies: u32,
    /// Copies currently rented (maintained by the rental repository).
    pub rented: u32,
    /// Rentals of the book ever made (maintained by the rental repository; what
    /// `sort=-rentals` orders by).
    #[serde(default)]
    pub times_rented: u64,
    /// Free-text summary (may be empty).
    pub summary: String,
    /// Optimistic-concurrency version: 1 at creation, +1 on every update.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The cover image, if one was uploaded (set through
    /// [`BookRepo::set_cover`](crate::ports::BookRepo::set_cover) only; `update` keeps it).
    pub cover: Option<BookCover>,
}

/// A book's cover: the uploaded original and, once a worker made it, its thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookCover {
    /// Blob key of the original (`uploads/{book_id}/{uuid}.{ext}`).
    pub original: String,
    /// Blob key of the thumbnail (`thumb/{book_id}/{uuid}.{ext}`), when made.
    pub thumbnail: Option<String>,
}

impl BookCover {
    /// Checks what every store can keep: keys of 1 to 1024 bytes without NUL.
    pub fn check(&self) -> Result<(), String> {
        for key in std::iter::once(&self.original).chain(self.thumbnail.iter()) {
            if key.is_empty() || key.len() > 1024 || key.contains('\0') {
                return Err("a cover key has 1 to 1024 bytes and no NUL".into());
            }
        }
        Ok(())
    }
}

impl Book {
    /// A new book (version 1, nothing rented) from a validated draft.
    pub fn new(id: BookId, draft: BookDraft, now: DateTime<Utc>) -> Self {
        Self {
            id,
            isbn: draft.isbn,
            title: draft.title,
            author: draft.author,
            category: draft.category,
            year: draft.year,
            price: draft.price,
            copies: draft.copies,
            rented: 0,
            times_rented: 0,
            summary: draft.summary,
            version: 1,
            created_at: now,
            updated_at: now,
            cover: None,
        }
    }

    /// This book with its editable fields replaced by `draft`, version bumped.
    pub fn revised(&self, draft: BookDraft, now: DateTime<Utc>) -> Self {
        Self {
            version: self.version + 1,
            updated_at: now,
            cover: self.cover.clone(),
            ..Self::new(self.id, draft, self.created_at)
        }
        .with_rented(self.rented)
    }

    fn with_rented(mut self, rented: u32) -> Self {
        self.rented = rented;
        self
    }

    /// Copies free to rent.
    pub fn available(&self) -> u32 {
        self.copies.saturating_sub(self.rented)
    }

    /// Folded `title author summary`: what full-text search matches against.
    pub fn search_document(&self) -> String {
        fold(&format!("{} {} {}", self.title, self.author, self.summary))
    }

    /// The folded title, used to sort by title.
    pub fn title_key(&self) -> String {
        fold(&self.title)
    }

    /// The folded author, used to sort and filter by author.
    pub fn author_key(&self) -> String {
        fold(&self.author)
    }

    /// The folded category, used to filter by category.
    pub fn category_key(&self) -> String {
        fold(&self.category)
    }
}

/// The editable fields of a book, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookDraft {
    pub(crate) isbn: Isbn,
    pub(crate) title: String,
    pub(crate) author: String,
    pub(crate) category: String,
    pub(crate) year: i32,
    pub(crate) price: Money,
    pub(crate) copies: u32,
    pub(crate) summary: String,
}

impl BookDraft {
    /// Starts a draft from the three fields every book needs.
    ///
    /// ```
    /// use kcl_core::domain::BookDraft;
    /// let err = BookDraft::builder("", "Someone", "123").copies(-1).build().unwrap_err();
    /// let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
    /// assert_eq!(fields, ["title", "isbn", "year", "copies"]);
    /// ```
    pub fn builder(
        title: impl Into<String>,
        author: impl Into<String>,
        isbn: impl Into<String>,
    ) -> BookDraftBuilder {
        BookDraftBuilder {
            title: title.into(),
            author: author.into(),
            isbn: isbn.into(),
            category: "General".to_owned(),
            year: None,
            price: PriceInput::Cents(0),
            copies: 1,
            summary: String::new(),
        }
    }

    /// The ISBN.
    pub fn isbn(&self) -> &Isbn {
        &self.isbn
    }

    /// The number of copies.
    pub fn copies(&self) -> u32 {
        self.copies
    }
}

#[derive(Debug, Clone)]
enum PriceInput {
    Cents(i64),
    Text(String),
}

/// Collects raw fields and validates them all at once in [`BookDraftBuilder::build`].
#[derive(Debug, Clone)]
pub struct BookDraftBuilder {
    title: String,
    author: String,
    isbn: String,
    category: String,
    year: Option<i64>,
    price: PriceInput,
    copies: i64,
    summary: String,
}

impl BookDraftBuilder {
    /// Category (default `General`).
    pub fn category(mut self, v: impl Into<String>) -> Self {
        self.category = v.into();
        self
    }
    /// Publication year (required).
    pub fn year(mut self, v: i64) -> Self {
        self.year = Some(v);
        self
    }
    /// Price in cents (default 0).
    pub fn price_cents(mut self, v: i64) -> Self {
        self.price = PriceInput::Cents(v);
        self
    }
    /// Price as text, such as `39.90` or `39,90`.
    pub fn price_text(mut self, v: impl Into<String>) -> Self {
        self.price = PriceInput::Text(v.into());
        self
    }
    /// Copies owned (default 1).
    pub fn copies(mut self, v: i64) -> Self {
        self.copies = v;
        self
    }
    /// Summary (default empty).
    pub fn summary(mut self, v: impl Into<String>) -> Self {
        self.summary = v.into();
        self
    }

    /// Validates every field and reports all problems together.
    pub fn build(self) -> Result<BookDraft, ValidationError> {
        let mut c = Collector::default();
        let title = c.take(text("title", &self.title, 1, BookLimits::TITLE, false));
        let author = c.take(text("author", &self.author, 1, BookLimits::AUTHOR, false));
        let isbn = c.take(Isbn::parse(&self.isbn));
        let category = c.take(text(
            "category",
            &self.category,
            1,
            BookLimits::CATEGORY,
            false,
        ));
        let max_year = Utc::now().year() + 1;
        let year = match self.year {
            None => {
                c.push(ValidationError::field("year", "required", "is required"));
                None
            }
            Some(y) if y < BookLimits::FIRST_YEAR as i64 || y > max_year as i64 => {
                c.push(ValidationError::field(
                    "year",
                    "out-of-range",
                    format!("must be between {} and {max_year}", BookLimits::FIRST_YEAR),
                ));
                None
            }
            Some(y) => Some(y as i32),
        };
        let price = c.take(match &self.price {
            PriceInput::Cents(v) => Money::from_cents(*v),
            PriceInput::Text(t) => Money::parse(t),
        });
        let copies = if !(0..=BookLimits::COPIES).contains(&self.copies) {
            c.push(ValidationError::field(
                "copies",
                "out-of-range",
                format!("must be between 0 and {}", BookLimits::COPIES),
            ));
            None
        } else {
            Some(self.copies as u32)
        };
        let summary = c.take(text("summary", &self.summary, 0, BookLimits::SUMMARY, true));
        c.finish()?;
        // All present: finish() returned Ok only if every take succeeded.
        match (title, author, isbn, category, year, price, copies, summary) {
            (
                Some(title),
                Some(author),
                Some(isbn),
                Some(category),
                Some(year),
                Some(price),
                Some(copies),
                Some(summary),
            ) => Ok(BookDraft {
                isbn,
                title,
                author,
                category,
                year,
                price,
                copies,
                summary,
            }),
            _ => Err(ValidationError::field("book", "invalid", "invalid book")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_collects_all_errors() {
        let e = BookDraft::builder(" ", "a\u{7}", "0-306-40615-2")
            .year(3000)
            .price_cents(-5)
            .summary("x".repeat(5001))
            .build()
            .unwrap_err();
        let codes: Vec<_> = e
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            codes,
            [
                ("title", "required"),
                ("author", "control-character"),
                ("year", "out-of-range"),
                ("price", "negative"),
                ("summary", "too-long")
            ]
        );
    }

    #[test]
    fn revised_keeps_identity_and_bumps_version() {
        let d = BookDraft::builder("T", "A", "0-306-40615-2")
            .year(2000)
            .build()
            .unwrap();
        let now = Utc::now();
        let mut b = Book::new(BookId(Uuid::nil()), d.clone(), now);
        b.rented = 1;
        let r = b.revised(d, now + chrono::Duration::seconds(1));
        assert_eq!((r.version, r.rented, r.created_at), (2, 1, now));
    }
}
