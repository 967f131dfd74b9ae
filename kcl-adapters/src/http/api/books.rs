use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::domain::BookId;
use kcl_core::services::ListBooks;
use kcl_core::Services;
use serde::Deserialize;
use uuid::Uuid;

use super::dto::{BookIn, BookOut, PageOut};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    q: Option<String>,
    category: Option<String>,
    author: Option<String>,
    year_from: Option<i32>,
    year_to: Option<i32>,
    available: Option<bool>,
    sort: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
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
        }
    }
}

pub(crate) async fn list(
    State(s): State<Services>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    // A shared page: a cached listing is serialized straight from the cache.
    let page = s.catalog.list_shared(q.into()).await?;
    Ok(Json(PageOut {
        items: page.items.iter().map(BookOut::from).collect(),
        next_cursor: page.next_cursor.clone(),
    })
    .into_response())
}

pub(crate) async fn create(
    State(s): State<Services>,
    ApiJson(body): ApiJson<BookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = body.into_new().map_err(kcl_core::ServiceError::from)?;
    let book = s.catalog.create(draft).await?;
    let location = format!("/api/books/{}", book.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(BookOut::from(&book)),
    )
        .into_response())
}

pub(crate) async fn get(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let book = s.catalog.get(BookId(id)).await?;
    Ok(Json(BookOut::from(&book)).into_response())
}

pub(crate) async fn update(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<BookIn>,
) -> Result<Response, ApiError> {
    let (version, draft) = body.into_update().map_err(kcl_core::ServiceError::from)?;
    let book = s.catalog.update(BookId(id), draft, version).await?;
    Ok(Json(BookOut::from(&book)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteQuery {
    version: Option<u64>,
}

pub(crate) async fn delete(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    s.catalog.delete(BookId(id), q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}
