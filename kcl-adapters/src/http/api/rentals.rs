use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::NaiveDate;
use kcl_core::domain::{BookId, RentalId};
use kcl_core::services::ListRentals;
use kcl_core::Services;
use serde::Deserialize;
use uuid::Uuid;

use super::dto::{PageOut, RentalOut};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RentIn {
    book_id: Uuid,
    renter: String,
    due_date: Option<NaiveDate>,
}

pub(crate) async fn create(
    State(s): State<Services>,
    ApiJson(body): ApiJson<RentIn>,
) -> Result<impl IntoResponse, ApiError> {
    let r = s
        .rentals
        .rent(BookId(body.book_id), &body.renter, body.due_date)
        .await?;
    let location = format!("/api/rentals/{}", r.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(RentalOut::new(r, s.rentals.today())),
    ))
}

pub(crate) async fn get(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RentalOut>, ApiError> {
    let r = s.rentals.get(RentalId(id)).await?;
    Ok(Json(RentalOut::new(r, s.rentals.today())))
}

pub(crate) async fn return_rental(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RentalOut>, ApiError> {
    let r = s.rentals.return_rental(RentalId(id)).await?;
    Ok(Json(RentalOut::new(r, s.rentals.today())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    book_id: Option<Uuid>,
    renter: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(crate) async fn list(
    State(s): State<Services>,
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
