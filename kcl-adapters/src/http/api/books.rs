use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::domain::{parse_book_import, BookId};
use kcl_core::services::{ImportOutcome, ListBooks};
use kcl_core::Services;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::dto::{BookIn, BookOut};
use super::located;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, JsonBodyProblems};
use crate::http::problem::{ApiError, Problem};

/// The filters, order and page of `GET /api/books`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Words (up to 16, 200 characters): each must start a word of the title,
    /// author or summary, accents and case ignored.
    q: Option<String>,
    /// Exact category, accents and case ignored.
    category: Option<String>,
    /// Exact author, accents and case ignored.
    author: Option<String>,
    /// Published in or after this year.
    year_from: Option<i32>,
    /// Published in or before this year.
    year_to: Option<i32>,
    /// `true`: only books with a copy available.
    available: Option<bool>,
    /// `title` (default), `author`, `year`, `price`, `created_at` or `rentals` (rentals
    /// ever made: `-rentals` is most rented first); `-` first for descending.
    #[param(example = "-year")]
    sort: Option<String>,
    /// Books per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page (same sort).
    cursor: Option<String>,
    /// The `prev_cursor` of the next page (same sort): the page before it.
    before: Option<String>,
    /// `true`: count the listing too, up to 1,000 (`count`).
    count: Option<bool>,
}

impl From<ListQuery> for ListBooks {
    fn from(q: ListQuery) -> Self {
        Self {
            q: q.q,
            category: q.category,
            author: q.author,
            year_from: q.year_from,
            year_to: q.year_to,
            available_only: q.available.unwrap_or(false),
            sort: q.sort,
            limit: q.limit,
            cursor: q.cursor,
            before: q.before,
            with_count: q.count.unwrap_or(false),
        }
    }
}

/// A page of books, with the cursors of the pages after and before it.
#[derive(Serialize, ToSchema)]
pub(crate) struct BookPageOut<'a> {
    /// The books of this page.
    items: Vec<BookOut<'a>>,
    /// Pass it as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    next_cursor: Option<String>,
    /// Pass it as `before` for the previous page; `null` on the first.
    #[schema(required = true)]
    prev_cursor: Option<String>,
    /// The position of the first book in the listing (0 on the first page), when
    /// known.
    #[schema(required = true)]
    offset: Option<u64>,
    /// The listing's size up to 1,000 (`capped`: more than 1,000), with `count=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<kcl_core::domain::PageCount>,
}

/// Lists books: filters, sort and keyset pagination.
#[utoipa::path(
    get,
    path = "/api/books",
    tag = "books",
    operation_id = "list_books",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of books", body = BookPageOut),
        (status = 400, description = "An unknown query parameter or a value of the wrong type (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad sort, limit, cursor or search (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    // A shared page: a cached listing is serialized straight from the cache.
    let page = s.catalog.list_shared(q.into()).await?;
    Ok(Json(BookPageOut {
        items: page.items.iter().map(BookOut::from).collect(),
        next_cursor: page.next_cursor.clone(),
        prev_cursor: page.prev_cursor.clone(),
        offset: page.offset,
        count: page.count,
    })
    .into_response())
}

/// Creates a book.
#[utoipa::path(
    post,
    path = "/api/books",
    tag = "books",
    operation_id = "create_book",
    request_body = BookIn,
    responses(
        (status = 201, description = "The book created", body = BookOut,
            headers(("Location" = String, description = "`/api/books/{id}`"))),
        (status = 400, description = "The body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another book has that ISBN (`duplicate-isbn`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`) or invalid values (`validation-failed`, with `errors`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create(
    State(s): State<Arc<Services>>,
    ApiJson(body): ApiJson<BookIn>,
) -> Result<Response, ApiError> {
    let draft = body.into_new().map_err(kcl_core::ServiceError::from)?;
    let book = s.catalog.create(draft).await?;
    let location = crate::http::access::href(&format!("/api/books/{}", book.id));
    Ok(located(
        StatusCode::CREATED,
        BookOut::from(&book),
        Some(&location),
    ))
}

/// The largest books CSV `POST /api/books/import` reads (100,000 books of a few
/// hundred bytes fit several times over).
pub(crate) const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Imports books from a CSV body (see `docs/api.md`, "Importing books"): every row
/// is checked first (any problem: `422` listing each with its line, nothing
/// stored), then the books are stored 500 per transaction, each with its
/// `created` audit event. Books whose ISBN is already in the catalog are skipped
/// and listed, so a failed import can be sent again.
#[utoipa::path(
    post,
    path = "/api/books/import",
    tag = "books",
    operation_id = "import_books",
    request_body(content = String, content_type = "text/csv",
        description = "A header row (`title,author,isbn,year` and optionally `category,copies,price,summary`, or their Portuguese names), then one book per row; `,` or `;`; UTF-8"),
    responses(
        (status = 201, description = "Books created (and any skipped)", body = ImportOutcomeOut),
        (status = 200, description = "Nothing created: every book was already in the catalog", body = ImportOutcomeOut),
        (status = 400, description = "A body that breaks off (`bad-body`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A body over 64 MiB (`body-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `content-type: text/csv` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad header or rows (`validation-failed`, with `errors`: `field` is `file`, `header` or `line N: column`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn import(
    State(s): State<Arc<Services>>,
    req: Request,
) -> Result<Response, ApiError> {
    let csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the books as `content-type: text/csv`",
        )
        .into());
    }
    let body = axum::body::to_bytes(req.into_body(), IMPORT_BODY_LIMIT)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    format!("the file is over {} MiB: split it", IMPORT_BODY_LIMIT >> 20),
                )
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "bad-body", e.to_string())
            }
        })?;
    // Parsing 100,000 rows takes a while: off the runtime's threads.
    let rows = tokio::task::spawn_blocking(move || parse_book_import(&body))
        .await
        .map_err(|e| kcl_core::ServiceError::Internal(Box::new(e)))?
        .map_err(kcl_core::ServiceError::from)?;
    let outcome = s.catalog.import(rows).await?;
    let status = if outcome.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ImportOutcomeOut::from(outcome))).into_response())
}

/// What an import did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ImportOutcomeOut {
    /// Books created.
    created: u64,
    /// Books skipped: their ISBN was already in the catalog.
    skipped: u64,
    /// The first 1,000 skipped books.
    skipped_books: Vec<SkippedBookOut>,
}

/// A book an import skipped.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SkippedBookOut {
    /// Its line in the file (the header is line 1).
    line: u64,
    /// Its ISBN.
    isbn: String,
}

impl From<ImportOutcome> for ImportOutcomeOut {
    fn from(o: ImportOutcome) -> Self {
        Self {
            created: o.created,
            skipped: o.skipped,
            skipped_books: o
                .skipped_books
                .into_iter()
                .map(|b| SkippedBookOut {
                    line: b.line,
                    isbn: b.isbn,
                })
                .collect(),
        }
    }
}

/// A book.
#[utoipa::path(
    get,
    path = "/api/books/{id}",
    tag = "books",
    operation_id = "get_book",
    params(("id" = Uuid, Path, description = "The book's id")),
    responses(
        (status = 200, description = "The book", body = BookOut),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let book = s.catalog.get(BookId(id)).await?;
    Ok(Json(BookOut::from(&book)).into_response())
}

/// Replaces a book's fields, based on the version read.
#[utoipa::path(
    put,
    path = "/api/books/{id}",
    tag = "books",
    operation_id = "update_book",
    params(("id" = Uuid, Path, description = "The book's id")),
    request_body(content = BookIn, description = "The book's fields and the `version` read (required)"),
    responses(
        (status = 200, description = "The book updated", body = BookOut),
        (status = 400, description = "The id is not a UUID (`bad-path`), or the body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A stale version (`version-conflict`), another book has that ISBN (`duplicate-isbn`), or copies below the rented count (`book-rented`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`) or invalid values (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn update(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<BookIn>,
) -> Result<Response, ApiError> {
    let (version, draft) = body.into_update().map_err(kcl_core::ServiceError::from)?;
    let book = s.catalog.update(BookId(id), draft, version).await?;
    Ok(Json(BookOut::from(&book)).into_response())
}

/// The query of `DELETE /api/books/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteQuery {
    /// When given, the book's current version (refused if stale).
    #[param(minimum = 1)]
    version: Option<u64>,
}

/// Deletes a book (no copy may be rented).
#[utoipa::path(
    delete,
    path = "/api/books/{id}",
    tag = "books",
    operation_id = "delete_book",
    params(("id" = Uuid, Path, description = "The book's id"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID (`bad-path`) or a bad query (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A stale version (`version-conflict`) or copies are rented (`book-rented`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A version below 1 (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn delete(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    s.catalog.delete(BookId(id), q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}
