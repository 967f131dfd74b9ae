//! Single sales as they happen: `POST /api/sales` with an `Idempotency-Key`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kcl_core::services::SaleLine;
use kcl_core::Services;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;

use super::report_response;
use crate::http::extract::{ApiJson, JsonBodyProblems};
use crate::http::problem::{ApiError, Problem};

/// The body of `POST /api/sales`: one sale or a small batch, of one store and day.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sales": [
    {"store_id": "loja-01", "sale_date": "2026-11-23", "receipt_id": "C-1042",
     "sku": "789", "product_name": "Café 500 g", "quantity": 2, "unit_price": "12.90"}
]}))]
pub(crate) struct SalesBody {
    /// 1 to 100 lines, with the columns of a sales file.
    sales: Vec<SaleLine>,
}

/// `POST /api/sales`: records single sales, once per idempotency key.
#[utoipa::path(
    post,
    path = "/api/sales",
    tag = "sales",
    operation_id = "record_sales",
    summary = "Records one sale or a small batch as it happens (stock and daily totals move at once).",
    description = "Lines of one store and day, validated like a file's rows. The `Idempotency-Key` \
        header makes a retry safe: the same key and lines again answer 200 `duplicate` and change \
        nothing; the same key with other lines is refused. A sales file loaded later with rows of \
        that store and day replaces these single sales (`docs/sales.md`).",
    params(("Idempotency-Key" = String, Header, description = "1 to 64 characters of `A-Z a-z 0-9 _ - .`, one per batch (a UUID)")),
    request_body = SalesBody,
    responses(
        (status = 201, description = "Recorded: the batch's ingest report", body = kcl_core::services::IngestReport),
        (status = 200, description = "Recorded before under this key with the same lines: nothing changed", body = kcl_core::services::IngestReport),
        (status = 400, description = "No `Idempotency-Key` header (`missing-idempotency-key`), or the body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 409, description = "Recorded under this key, then replaced by a file for that store and day (`sales-replaced`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad line (`errors[].field` = `sales[i].column`, the file rules' codes such as `bad-date`), a bad key (`bad-idempotency-key`), a key used for other lines (`idempotency-key-reused`), lines of several stores or days (`mixed-store-day`), or no or too many lines (`bad-batch`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn record(
    State(s): State<Arc<Services>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SalesBody>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "missing-idempotency-key",
                "send an `Idempotency-Key` header (a UUID per batch), so a retry cannot record the sales twice",
            )
        })?;
    let report = s.sales.record_sales(key, &body.sales).await?;
    Ok(report_response(&report))
}
