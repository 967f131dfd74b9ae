use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{
    Book, BookId, Rental, RentalId, RentalStatusFilter, Renter, SearchTerms, ValidationError,
};

/// What a book listing can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Folded title.
    Title,
    /// Folded author.
    Author,
    /// Publication year.
    Year,
    /// Price in cents.
    Price,
    /// Creation time.
    CreatedAt,
    /// Rentals ever made ([`Book::times_rented`]); `-rentals` is most rented first.
    Rentals,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A sort: key and order; ties are broken by id in the same order.
///
/// ```
/// use kcl_core::domain::{BookSort, SortKey, SortOrder};
/// let s: BookSort = "-year".parse().unwrap();
/// assert_eq!((s.key, s.order), (SortKey::Year, SortOrder::Desc));
/// assert_eq!(s.to_string(), "-year");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BookSort {
    /// What the books are ordered by.
    pub key: SortKey,
    /// Ascending or descending (`-` before the key in its text form).
    pub order: SortOrder,
}

impl Default for BookSort {
    fn default() -> Self {
        Self {
            key: SortKey::Title,
            order: SortOrder::Asc,
        }
    }
}

impl FromStr for BookSort {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (order, name) = match s.strip_prefix('-') {
            Some(n) => (SortOrder::Desc, n),
            None => (SortOrder::Asc, s),
        };
        let key =
            match name {
                "title" => SortKey::Title,
                "author" => SortKey::Author,
                "year" => SortKey::Year,
                "price" => SortKey::Price,
                "created_at" => SortKey::CreatedAt,
                "rentals" => SortKey::Rentals,
                _ => return Err(ValidationError::field(
                    "sort",
                    "unknown-sort",
                    "must be title, author, year, price, created_at or rentals, with an optional leading -",
                )),
            };
        Ok(Self { key, order })
    }
}

impl std::fmt::Display for BookSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.order == SortOrder::Desc {
            f.write_str("-")?;
        }
        f.write_str(match self.key {
            SortKey::Title => "title",
            SortKey::Author => "author",
            SortKey::Year => "year",
            SortKey::Price => "price",
            SortKey::CreatedAt => "created_at",
            SortKey::Rentals => "rentals",
        })
    }
}

/// The value of a sort key, as kept in a cursor and compared by adapters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    /// Integer keys (year, price in cents, creation time in microseconds, rentals).
    Int(i64),
    /// Text keys (folded title or author).
    Text(String),
}

/// A book's folded texts, computed once: what filters, sorts and search compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookKeys {
    /// [`Book::title_key`].
    pub title: String,
    /// [`Book::author_key`].
    pub author: String,
    /// [`Book::category_key`].
    pub category: String,
    /// [`Book::search_document`].
    pub document: String,
}

impl BookKeys {
    /// Computes the keys of `book`.
    pub fn of(book: &Book) -> Self {
        Self {
            title: book.title_key(),
            author: book.author_key(),
            category: book.category_key(),
            document: book.search_document(),
        }
    }
}

impl BookSort {
    /// The sort value of `book` for this key.
    pub fn value_of(&self, book: &Book) -> CursorValue {
        self.value_with(book, None)
    }

    /// Like [`value_of`](Self::value_of), with the keys already computed.
    pub fn value_with(&self, book: &Book, keys: Option<&BookKeys>) -> CursorValue {
        match (self.key, keys) {
            (SortKey::Title, Some(k)) => CursorValue::Text(k.title.clone()),
            (SortKey::Author, Some(k)) => CursorValue::Text(k.author.clone()),
            (SortKey::Title, None) => CursorValue::Text(book.title_key()),
            (SortKey::Author, None) => CursorValue::Text(book.author_key()),
            (SortKey::Year, _) => CursorValue::Int(book.year as i64),
            (SortKey::Price, _) => CursorValue::Int(book.price.cents()),
            (SortKey::CreatedAt, _) => CursorValue::Int(book.created_at.timestamp_micros()),
            (SortKey::Rentals, _) => {
                CursorValue::Int(i64::try_from(book.times_rented).unwrap_or(i64::MAX))
            }
        }
    }
}

/// Filters of a book listing. Text filters hold folded values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookFilter {
    /// Full-text search terms.
    pub search: Option<SearchTerms>,
    /// Category, folded; compared for equality with the folded category.
    pub category: Option<String>,
    /// Author, folded; compared for equality with the folded author.
    pub author: Option<String>,
    /// Earliest year, inclusive.
    pub year_from: Option<i32>,
    /// Latest year, inclusive.
    pub year_to: Option<i32>,
    /// Only books with a free copy.
    pub available_only: bool,
}

impl BookFilter {
    /// Whether `book` passes the filter (the reference semantics for every adapter).
    pub fn matches(&self, book: &Book) -> bool {
        self.matches_with(book, &BookKeys::of(book))
    }

    /// Like [`matches`](Self::matches), with the keys already computed.
    pub fn matches_with(&self, book: &Book, keys: &BookKeys) -> bool {
        self.category.as_ref().is_none_or(|c| *c == keys.category)
            && self.author.as_ref().is_none_or(|a| *a == keys.author)
            && self.year_from.is_none_or(|y| book.year >= y)
            && self.year_to.is_none_or(|y| book.year <= y)
            && (!self.available_only || book.available() > 0)
            && self
                .search
                .as_ref()
                .is_none_or(|s| s.matches(&keys.document))
    }
}

/// A book listing as a repository receives it: return at most `limit` books that pass
/// `filter`, ordered by `sort` then id, strictly after `after` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookQuery {
    /// Which books qualify (all filters must hold).
    pub filter: BookFilter,
    /// How they are ordered; ties by id.
    pub sort: BookSort,
    /// Keyset position: sort value and id of the last book already seen.
    pub after: Option<(CursorValue, BookId)>,
    /// Maximum number of books.
    pub limit: u32,
}

/// Where a keyset page starts, for adapters that compare sort values in storage
/// (where an integer column cannot be compared with a text cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysetStart<'a> {
    /// At the first book.
    First,
    /// Strictly after this sort value and id (the value has the key's type).
    After(&'a CursorValue, BookId),
    /// Past the last book: the page is empty.
    End,
}

impl BookQuery {
    /// The start of the page. A cursor whose value is of the other type than the
    /// sort key's compares as [`CursorValue`] orders them (every `Int` before every
    /// `Text`), as in the reference implementation.
    pub fn keyset_start(&self) -> KeysetStart<'_> {
        let Some((value, id)) = &self.after else {
            return KeysetStart::First;
        };
        let key_is_text = matches!(self.sort.key, SortKey::Title | SortKey::Author);
        let asc = self.sort.order == SortOrder::Asc;
        match (value, key_is_text) {
            (CursorValue::Text(_), true) | (CursorValue::Int(_), false) => {
                KeysetStart::After(value, *id)
            }
            // An Int cursor is before every text value; a Text cursor after every number.
            (CursorValue::Int(_), true) if asc => KeysetStart::First,
            (CursorValue::Text(_), false) if !asc => KeysetStart::First,
            _ => KeysetStart::End,
        }
    }
}

/// A rental listing as a repository receives it: at most `limit` rentals that match,
/// newest first (`rented_at` descending, then id descending), strictly after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalQuery {
    /// Only this book's rentals.
    pub book_id: Option<BookId>,
    /// Only this renter's rentals.
    pub renter: Option<Renter>,
    /// Only rentals in this state.
    pub status: Option<RentalStatusFilter>,
    /// Today (UTC), to tell overdue rentals.
    pub today: NaiveDate,
    /// Keyset position: `rented_at` and id of the last rental already seen.
    pub after: Option<(DateTime<Utc>, RentalId)>,
    /// Maximum number of rentals.
    pub limit: u32,
}

impl RentalQuery {
    /// Whether `r` passes the filters (the reference semantics for every adapter).
    pub fn matches(&self, r: &Rental) -> bool {
        self.book_id.is_none_or(|b| b == r.book_id)
            && self.renter.as_ref().is_none_or(|x| *x == r.renter)
            && match self.status {
                None => true,
                Some(RentalStatusFilter::Active) => r.returned_at.is_none(),
                Some(RentalStatusFilter::Returned) => r.returned_at.is_some(),
                Some(RentalStatusFilter::Overdue) => {
                    r.returned_at.is_none() && r.due_date < self.today
                }
            }
            && self
                .after
                .is_none_or(|(t, id)| (r.rented_at, r.id) < (t, id))
    }
}

/// One page of a listing, with the opaque cursors of the next and previous pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass it back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Pass it back as `before` for the previous page; `None` on the first page
    /// (and in listings that only page forward).
    #[serde(default)]
    pub prev_cursor: Option<String>,
    /// The position of the first item in the whole listing (0 for the first page),
    /// when known: "21-40 of ...".
    #[serde(default)]
    pub offset: Option<u64>,
    /// How many items the whole listing has, counted up to a cap, when asked for.
    #[serde(default)]
    pub count: Option<PageCount>,
}

impl<T> Page<T> {
    /// A page of `items` followed by the page at `next_cursor`.
    pub fn forward(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            items,
            next_cursor,
            prev_cursor: None,
            offset: None,
            count: None,
        }
    }
}

/// A listing's size, counted no further than a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageCount {
    /// The items counted (at most the cap).
    pub value: u64,
    /// True when there may be more than `value` (the count stopped at its cap).
    pub capped: bool,
}

/// An opaque pagination cursor: base64url of a small JSON document.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    /// Encodes a cursor payload.
    pub fn encode<T: Serialize>(payload: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap_or_default())
    }

    /// Decodes a cursor payload; any tampering gives a validation error.
    pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, ValidationError> {
        let bad =
            || ValidationError::field("cursor", "bad-cursor", "is not a cursor from this listing");
        if cursor.len() > 1024 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}
