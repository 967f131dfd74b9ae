use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use kcl_core::domain::{BookId, RentalId};
use kcl_core::services::ListRentals;
use kcl_core::Services;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::dto::{PageOut, RentalOut};
use super::located;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, JsonBodyProblems};
use crate::http::problem::{ApiError, Problem};

/// The body of `POST /api/rentals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RentalIn)]
pub(crate) struct RentIn {
    /// The book to rent a copy of.
    book_id: Uuid,
    /// Who rents it (1 to 200 characters).
    renter: String,
    /// When it is due back (default 14 days from today, UTC; at most 365 days ahead).
    due_date: Option<NaiveDate>,
}

/// Rents a copy of a book.
#[utoipa::path(
    post,
    path = "/api/rentals",
    tag = "rentals",
    operation_id = "create_rental",
    request_body = RentIn,
    responses(
        (status = 201, description = "The rental", body = RentalOut,
            headers(("Location" = String, description = "`/api/rentals/{id}`"))),
        (status = 400, description = "The body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Every copy is rented (`no-copy-available`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`) or invalid values (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create(
    State(s): State<Arc<Services>>,
    ApiJson(body): ApiJson<RentIn>,
) -> Result<Response, ApiError> {
    let r = s
        .rentals
        .rent(BookId(body.book_id), &body.renter, body.due_date)
        .await?;
    let location = format!("/api/rentals/{}", r.id);
    Ok(located(
        StatusCode::CREATED,
        RentalOut::new(r, s.rentals.today()),
        Some(&location),
    ))
}

/// A rental.
#[utoipa::path(
    get,
    path = "/api/rentals/{id}",
    tag = "rentals",
    operation_id = "get_rental",
    params(("id" = Uuid, Path, description = "The rental's id")),
    responses(
        (status = 200, description = "The rental", body = RentalOut),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rental (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RentalOut>, ApiError> {
    let r = s.rentals.get(RentalId(id)).await?;
    Ok(Json(RentalOut::new(r, s.rentals.today())))
}

/// Returns a rented copy; returning again answers the same rental.
#[utoipa::path(
    post,
    path = "/api/rentals/{id}/return",
    tag = "rentals",
    operation_id = "return_rental",
    params(("id" = Uuid, Path, description = "The rental's id")),
    responses(
        (status = 200, description = "The rental, returned", body = RentalOut),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rental (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn return_rental(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RentalOut>, ApiError> {
    let r = s.rentals.return_rental(RentalId(id)).await?;
    Ok(Json(RentalOut::new(r, s.rentals.today())))
}

/// The filters and page of `GET /api/rentals`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Rentals of this book.
    book_id: Option<Uuid>,
    /// Rentals by this renter.
    renter: Option<String>,
    /// `active` (overdue included), `returned` or `overdue`.
    #[param(example = "active")]
    status: Option<String>,
    /// Rentals per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists rentals, newest first.
#[utoipa::path(
    get,
    path = "/api/rentals",
    tag = "rentals",
    operation_id = "list_rentals",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of rentals", body = PageOut<RentalOut>),
        (status = 400, description = "An unknown query parameter or a value of the wrong type (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad status, limit or cursor (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageOut<RentalOut>>, ApiError> {
    let page = s
        .rentals
        .list(ListRentals {
            book_id: q.book_id.map(BookId),
            renter: q.renter,
            status: q.status,
            limit: q.limit,
            cursor: q.cursor,
        })
        .await?;
    let today = s.rentals.today();
    Ok(Json(PageOut {
        items: page
            .items
            .into_iter()
            .map(|r| RentalOut::new(r, today))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}
