//! Sales reports: written for a period (CSV or PDF) and downloaded.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use kcl_core::services::ReportWritten;
use kcl_core::Services;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::http::api::covers::Binary;
use crate::http::api::{file, located};
use crate::http::extract::{ApiJson, ApiPath, JsonBodyProblems};
use crate::http::forms::sales::make_report;
use crate::http::problem::{ApiError, Problem};

/// The body of `POST /api/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "2026-11-01", "to": "2026-11-30", "format": "csv"}))]
pub(crate) struct ReportRequest {
    /// First day, `YYYY-MM-DD`.
    from: String,
    /// Last day, `YYYY-MM-DD`.
    to: String,
    /// Only this store.
    store: Option<String>,
    /// `csv` (default) or `pdf`.
    format: Option<String>,
    /// `en` or `pt-BR` (default `KCL_LOCALE`, else `en`): how numbers and dates are
    /// written; a pt-BR CSV has `;` between cells, `,` decimals, dd/mm/aaaa and a
    /// UTF-8 byte order mark, as a Brazilian spreadsheet opens it.
    #[schema(example = "pt-BR")]
    locale: Option<String>,
}

/// `POST /api/reports` `{from, to, store?, format: "csv"|"pdf"}` → 201 with the
/// report's key and a download URL.
#[utoipa::path(
    post,
    path = "/api/reports",
    tag = "sales",
    operation_id = "create_report",
    summary = "Writes a sales report (CSV or PDF) for a period.",
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Written: its key and download URL", body = ReportWritten,
            headers(("Location" = String, description = "The download URL"))),
        (status = 400, description = "The body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad date, range, store, format or locale (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "PDF reports are not in this build (`not-enabled`), or a dependency is down (`unavailable`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "`5`"))),
    )
)]
pub(crate) async fn create_report(
    State(s): State<Arc<Services>>,
    ApiJson(r): ApiJson<ReportRequest>,
) -> Result<Response, ApiError> {
    let written = make_report(
        &s,
        &r.from,
        &r.to,
        r.store.as_deref(),
        r.format.as_deref(),
        r.locale.as_deref(),
    )
    .await?;
    Ok(located(
        StatusCode::CREATED,
        &written,
        written.url.as_deref(),
    ))
}

/// `GET /api/reports/{name}`: a report's bytes (where the store has no presigned URLs).
#[utoipa::path(
    get,
    path = "/api/reports/{name}",
    tag = "sales",
    operation_id = "get_report",
    summary = "A report's file.",
    params(("name" = String, Path, description = "The report's file name (its key without `reports/`)")),
    responses(
        (status = 200, description = "The report, as an attachment",
            content((Binary = "text/csv"), (Binary = "application/pdf")),
            headers(("Content-Disposition" = String, description = "`attachment; filename=...`"))),
        (status = 400, description = "A path that cannot be read (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name that cannot be a key (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get_report(
    State(s): State<Arc<Services>>,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    let blob = s.sales.report(&format!("reports/{name}")).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok(file(blob, (header::CONTENT_DISPOSITION, disposition)))
}
