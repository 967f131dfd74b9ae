//! Stock on hand: read, set, and received quantities.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::domain::{Quantity, StockChange, StockLevel};
use kcl_core::services::parse_quantity;
use kcl_core::{ServiceError, Services};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use crate::http::extract::{ApiJson, ApiPath, JsonBodyProblems};
use crate::http::problem::{ApiError, Problem};

/// A SKU's stock on hand.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stock {
    /// The SKU.
    sku: String,
    /// Quantity on hand, exact decimal text.
    quantity: String,
    /// Last change (UTC).
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn stock_json(l: StockLevel) -> Json<Stock> {
    Json(Stock {
        sku: l.sku,
        quantity: l.quantity.to_string(),
        updated_at: l.updated_at,
    })
}

/// `GET /api/stock/{sku}`.
#[utoipa::path(
    get,
    path = "/api/stock/{sku}",
    tag = "sales",
    operation_id = "get_stock",
    summary = "A SKU's stock on hand.",
    params(("sku" = String, Path, description = "The SKU")),
    responses(
        (status = 200, description = "The stock", body = Stock),
        (status = 400, description = "A path that cannot be read (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No stock for that SKU (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A SKU that cannot be one (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn stock(
    State(s): State<Arc<Services>>,
    ApiPath(sku): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(stock_json(s.sales.stock(&sku).await?).into_response())
}

/// The body of the stock changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockQuantity, example = json!({"quantity": "12.5"}))]
pub(crate) struct QuantityBody {
    /// A number >= 0 with at most 3 decimals, as a JSON number or text.
    #[schema(schema_with = quantity_schema)]
    quantity: serde_json::Value,
}

fn quantity_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .examples(["12.5"]),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0)),
            )
            .build(),
    )
}

fn quantity(v: &serde_json::Value) -> Result<Quantity, ServiceError> {
    match v {
        serde_json::Value::String(s) => parse_quantity(s),
        serde_json::Value::Number(n) => parse_quantity(&n.to_string()),
        _ => parse_quantity(""),
    }
}

/// `PUT /api/stock/{sku}` `{"quantity": "12.5"}`: sets the quantity on hand.
#[utoipa::path(
    put,
    path = "/api/stock/{sku}",
    tag = "sales",
    operation_id = "set_stock",
    summary = "Sets a SKU's quantity on hand.",
    params(("sku" = String, Path, description = "The SKU")),
    request_body = QuantityBody,
    responses(
        (status = 200, description = "The stock", body = Stock),
        (status = 400, description = "A path that cannot be read (`bad-path`), or the body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad SKU or quantity (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn set_stock(
    State(s): State<Arc<Services>>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    change_stock(&s, &sku, &body, StockChange::Set).await
}

/// `POST /api/stock/{sku}/receipts` `{"quantity": 10}`: adds a received quantity.
#[utoipa::path(
    post,
    path = "/api/stock/{sku}/receipts",
    tag = "sales",
    operation_id = "receive_stock",
    summary = "Adds a received quantity to a SKU's stock.",
    params(("sku" = String, Path, description = "The SKU")),
    request_body = QuantityBody,
    responses(
        (status = 200, description = "The stock", body = Stock),
        (status = 400, description = "A path that cannot be read (`bad-path`), or the body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad SKU or quantity (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn receive_stock(
    State(s): State<Arc<Services>>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    change_stock(&s, &sku, &body, StockChange::Receive).await
}

/// The stock after `change` of the body's quantity.
async fn change_stock(
    s: &Services,
    sku: &str,
    body: &QuantityBody,
    change: fn(Quantity) -> StockChange,
) -> Result<Response, ApiError> {
    let q = quantity(&body.quantity)?;
    Ok(stock_json(s.sales.change_stock(sku, change(q)).await?).into_response())
}
