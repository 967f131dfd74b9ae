//! Sales totals: summaries over a period and a store's kept daily totals.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::domain::{format_cents, GroupBy, SummaryQuery};
use kcl_core::{ServiceError, Services};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

use crate::http::extract::ApiQuery;
use crate::http::forms::sales::date;
use crate::http::problem::{ApiError, Problem};

/// The filters and grouping of `GET /api/sales/summary` (dates inclusive).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SummaryParams {
    /// First day, `YYYY-MM-DD`.
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    #[param(example = "2026-11-30")]
    to: Option<String>,
    /// Only this store.
    store: Option<String>,
    /// Only this SKU.
    sku: Option<String>,
    /// `day` (default), `store` or `sku`.
    #[param(example = "day")]
    group_by: Option<String>,
}

/// A summary or daily row as JSON: quantities and amounts as exact decimal text.
#[derive(Serialize, ToSchema)]
pub(crate) struct Totals {
    /// The day (`YYYY-MM-DD`), store or SKU.
    key: String,
    /// Sales lines.
    lines: u64,
    /// Quantity sold, exact decimal text.
    quantity: String,
    /// Revenue, tax included, decimal text (`"12.50"`).
    revenue: String,
    /// Revenue in cents, tax included.
    revenue_cents: i64,
    /// The tax the revenue includes, decimal text (`"0.00"` unless files were read
    /// with a tax rate).
    tax: String,
    /// The tax in cents.
    tax_cents: i64,
    /// Revenue before tax, decimal text.
    revenue_before_tax: String,
    /// Revenue before tax in cents.
    revenue_before_tax_cents: i64,
}

impl Totals {
    /// Totals as the API shows them: the quantity as exact decimal text, revenue
    /// (with and before tax) and tax in cents and as money text.
    fn new(
        key: String,
        lines: u64,
        quantity: impl std::fmt::Display,
        revenue_cents: i64,
        tax_cents: i64,
    ) -> Self {
        let before = revenue_cents.saturating_sub(tax_cents);
        Self {
            key,
            lines,
            quantity: quantity.to_string(),
            revenue: format_cents(revenue_cents),
            revenue_cents,
            tax: format_cents(tax_cents),
            tax_cents,
            revenue_before_tax: format_cents(before),
            revenue_before_tax_cents: before,
        }
    }
}

/// The answer of `GET /api/sales/summary`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SalesSummary {
    /// The grouping.
    group_by: GroupBy,
    /// One row per group.
    rows: Vec<Totals>,
}

/// `GET /api/sales/summary?from=&to=&store=&sku=&group_by=day|store|sku`.
#[utoipa::path(
    get,
    path = "/api/sales/summary",
    tag = "sales",
    operation_id = "sales_summary",
    summary = "Sales totals by day, store or SKU.",
    params(SummaryParams),
    responses(
        (status = 200, description = "The totals", body = SalesSummary),
        (status = 400, description = "An unknown query parameter (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad date, range, id or grouping (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn summary(
    State(s): State<Arc<Services>>,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> Result<Response, ApiError> {
    let group_by = match p.group_by.as_deref() {
        None | Some("") => GroupBy::Day,
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            Problem::from(ServiceError::Invalid(
                kcl_core::domain::ValidationError::field(
                    "group_by",
                    "bad-group",
                    "must be day, store or sku",
                ),
            ))
        })?,
    };
    let opt = |v: Option<String>| v.filter(|v| !v.is_empty());
    let query = SummaryQuery {
        from: opt(p.from).map(|v| date("from", &v)).transpose()?,
        to: opt(p.to).map(|v| date("to", &v)).transpose()?,
        store: opt(p.store),
        sku: opt(p.sku),
        group_by,
    };
    let rows: Vec<Totals> = s
        .sales
        .summary(&query)
        .await?
        .into_iter()
        .map(|r| Totals::new(r.key, r.lines, r.quantity, r.revenue_cents, r.tax_cents))
        .collect();
    Ok(Json(SalesSummary { group_by, rows }).into_response())
}

/// The store and days of `GET /api/sales/daily` (dates inclusive).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DailyParams {
    /// The store.
    store: String,
    /// First day, `YYYY-MM-DD`.
    #[param(example = "2026-11-01")]
    from: String,
    /// Last day, `YYYY-MM-DD` (at most ten years after `from`).
    #[param(example = "2026-11-30")]
    to: String,
}

/// The answer of `GET /api/sales/daily`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SalesDaily {
    /// The store.
    store: String,
    /// One row per day with sales, `key` the day.
    days: Vec<Totals>,
}

/// `GET /api/sales/daily?store=&from=&to=`: a store's kept daily totals.
#[utoipa::path(
    get,
    path = "/api/sales/daily",
    tag = "sales",
    operation_id = "sales_daily",
    summary = "A store's kept daily totals.",
    params(DailyParams),
    responses(
        (status = 200, description = "The days", body = SalesDaily),
        (status = 400, description = "A missing or unknown query parameter (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad date, range or store (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn daily(
    State(s): State<Arc<Services>>,
    ApiQuery(p): ApiQuery<DailyParams>,
) -> Result<Response, ApiError> {
    let (from, to) = (date("from", &p.from)?, date("to", &p.to)?);
    let rows: Vec<Totals> = s
        .sales
        .daily(&p.store, from, to)
        .await?
        .into_iter()
        .map(|d| {
            let day = d.date.format("%Y-%m-%d").to_string();
            Totals::new(day, d.lines, d.quantity, d.revenue_cents, d.tax_cents)
        })
        .collect();
    Ok(Json(SalesDaily {
        store: p.store,
        days: rows,
    })
    .into_response())
}
