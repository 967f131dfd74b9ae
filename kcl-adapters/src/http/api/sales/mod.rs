//! Sales: file uploads (ingest) here; totals, stock and reports in the submodules.

pub(crate) mod reports;
pub(crate) mod single;
pub(crate) mod stock;
pub(crate) mod totals;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::services::{IngestReport, IngestStatus};
use kcl_core::Services;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::http::extract::ApiQuery;
use crate::http::forms::sales::{ingest_received, receive_file, UploadQuery};
use crate::http::problem::{ApiError, Problem};

/// A sales file as a multipart form (the schema of the upload; never built).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SalesFileForm {
    /// The CSV file; its file name is the default name.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The file's name, over the file name.
    name: Option<String>,
    /// `strict` or `lenient` (default).
    policy: Option<String>,
    /// A column mapping, `store_id:Branch,sku:Product line,...` (`docs/sales.md`).
    columns: Option<String>,
    /// `dmy` (default), `mdy` or `ymd`.
    date_order: Option<String>,
    /// The tax rate, in percent, that `total` includes.
    tax_rate: Option<String>,
}

/// A refused sales upload: a problem document, with the ingest `report` when the
/// file was read and refused (a 422).
#[derive(Serialize, ToSchema)]
pub(crate) struct SalesProblem<'a> {
    #[serde(flatten)]
    problem: Problem,
    /// The ingest report (`docs/sales.md`), when the file was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    report: Option<&'a IngestReport>,
}

/// The response to an ingest: 201 loaded, 200 duplicate, 422 rejected (a problem
/// document with the `report`).
pub(crate) fn report_response(report: &IngestReport) -> Response {
    match report.status {
        IngestStatus::Loaded => (StatusCode::CREATED, Json(report)).into_response(),
        IngestStatus::Duplicate => (StatusCode::OK, Json(report)).into_response(),
        IngestStatus::Rejected => {
            let (code, detail) = report
                .file_error
                .as_ref()
                .map_or(("rejected", "the file was rejected".to_owned()), |f| {
                    (f.code.as_str(), f.message.clone())
                });
            let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
            let mut res = (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(SalesProblem {
                    problem,
                    report: Some(report),
                }),
            )
                .into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            res
        }
    }
}

/// `POST /api/sales/files[?name=&policy=]`: a CSV body or a multipart form → the
/// ingest report.
#[utoipa::path(
    post,
    path = "/api/sales/files",
    tag = "sales",
    operation_id = "upload_sales_file",
    summary = "Loads a sales file (CSV): the raw body with `?name=`, or a multipart form.",
    params(UploadQuery),
    request_body(content(
        (SalesFileForm = "multipart/form-data"),
        (String = "text/csv"),
    )),
    responses(
        (status = 201, description = "Loaded", body = IngestReport),
        (status = 200, description = "A duplicate: the same content was loaded before, nothing changed", body = IngestReport),
        (status = 400, description = "A bad query (`bad-query`), a multipart body that cannot be read (`bad-multipart`) or a body that breaks off (`bad-body`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the size limit, 2 GiB by default (`too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No name (`missing-name`), no file (`missing-file`), a bad policy (`bad-policy`), a bad column mapping, date order or tax rate (`bad-columns`, `bad-date-order`, `bad-tax-rate`), or a refused file (its code, with the `report`: `missing-column`, `ambiguous-date-order`...)",
            body = SalesProblem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn upload(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let file = receive_file(&s, q, req).await?;
    Ok(report_response(&ingest_received(&s, file).await?))
}
