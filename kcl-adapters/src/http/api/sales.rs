//! Sales: file uploads (ingest), summaries, daily totals, stock and reports.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use futures::StreamExt;
use kcl_core::domain::{
    format_cents, GroupBy, IngestPolicy, StockChange, StockLevel, SummaryQuery,
};
use kcl_core::services::{
    parse_quantity, IngestOptions, IngestReport, IngestStatus, ReportFormat, ReportWritten,
};
use kcl_core::{ServiceError, Services};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use super::covers::Binary;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::{ApiError, Problem};

/// Removes the upload's spool file when the request ends.
struct Upload(PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn too_large(max: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the file is over the {max}-byte limit"),
    )
}

/// A failure to spool the upload: a full disk is the server's trouble for now (503 +
/// `Retry-After`), anything else an internal error.
fn internal(e: std::io::Error) -> Problem {
    use std::io::ErrorKind::{QuotaExceeded, StorageFull};
    if matches!(e.kind(), StorageFull | QuotaExceeded) {
        return Problem::from(ServiceError::Unavailable(Box::new(e)));
    }
    Problem::from(ServiceError::Internal(Box::new(e)))
}

/// Streams chunks to `path`, at most `max` bytes.
async fn spool<S, E>(mut chunks: S, path: &Path, max: u64) -> Result<u64, Problem>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut n = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            let text = e.to_string();
            if text.contains("length limit") {
                too_large(max)
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad-body",
                    format!("reading the body: {text}"),
                )
            }
        })?;
        n += chunk.len() as u64;
        if n > max {
            return Err(too_large(max));
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    Ok(n)
}

/// The query of `POST /api/sales/files`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// The file's name (required for a raw body; a multipart file's name otherwise).
    name: Option<String>,
    /// `strict` or `lenient` (default).
    #[param(example = "lenient")]
    policy: Option<String>,
}

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
}

fn policy(s: Option<&str>) -> Result<IngestPolicy, Box<Problem>> {
    match s {
        None | Some("") => Ok(IngestPolicy::default()),
        Some(p) => IngestPolicy::parse(p).ok_or_else(|| {
            Box::new(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-policy",
                "policy must be `strict` or `lenient`",
            ))
        }),
    }
}

/// A sales file received over HTTP: its name, policy and spooled bytes.
pub(crate) struct ReceivedFile {
    pub(crate) name: String,
    pub(crate) policy: IngestPolicy,
    _upload: Upload,
    pub(crate) path: PathBuf,
}

/// Reads a sales upload: a raw body (`?name=` required) or a multipart form with a
/// `file` field (its file name is the default name) and optional `name` and
/// `policy` fields; streamed to a spool file, never held in memory.
pub(crate) async fn receive_file(
    s: &Services,
    q: UploadQuery,
    req: Request,
) -> Result<ReceivedFile, Problem> {
    let max = s.sales.settings().max_file_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large(max));
    }
    let path = s
        .sales
        .spool_dir()
        .join(format!("kcl-sales-upload-{}.csv", uuid::Uuid::new_v4()));
    let upload = Upload(path.clone());
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (mut name, mut pol) = (q.name, q.policy);
    if multipart {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text()))?;
        let mut got_file = false;
        loop {
            let field = form.next_field().await.map_err(|e| {
                Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
            })?;
            let Some(field) = field else { break };
            match field.name() {
                Some("file") if !got_file => {
                    if name.as_deref().is_none_or(str::is_empty) {
                        name = field.file_name().map(str::to_owned);
                    }
                    spool(field, &path, max).await?;
                    got_file = true;
                }
                Some("name") => {
                    let v = crate::http::extract::text_field(field).await?;
                    if !v.trim().is_empty() {
                        name = Some(v);
                    }
                }
                Some("policy") => pol = Some(crate::http::extract::text_field(field).await?),
                _ => {}
            }
        }
        if !got_file {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing-file",
                "the form has no `file` field",
            ));
        }
    } else {
        spool(req.into_body().into_data_stream(), &path, max).await?;
    }
    let name = name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-name",
            "name the file: `?name=` (or a multipart `file` with a file name)",
        )
    })?;
    Ok(ReceivedFile {
        name,
        policy: policy(pol.as_deref()).map_err(|p| *p)?,
        _upload: upload,
        path,
    })
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
        (status = 422, description = "No name (`missing-name`), no file (`missing-file`), a bad policy (`bad-policy`), or a refused file (its code, with the `report`)",
            body = SalesProblem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn upload(
    State(s): State<Services>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let file = receive_file(&s, q, req).await?;
    Ok(report_response(&ingest_received(&s, file).await?))
}

/// Ingests a received file in a task of its own: a timeout or a client hanging up
/// cannot cut the load in half. Shared with the web UI.
pub(crate) async fn ingest_received(
    s: &Services,
    file: ReceivedFile,
) -> Result<IngestReport, ServiceError> {
    let sales = s.sales.clone();
    tokio::spawn(async move {
        let opts = IngestOptions {
            policy: file.policy,
            progress: None,
        };
        sales.ingest_path(&file.name, &file.path, opts).await
    })
    .await
    .map_err(|e| ServiceError::Internal(Box::new(e)))?
}

fn date(field: &'static str, v: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        ServiceError::Invalid(kcl_core::domain::ValidationError::field(
            field,
            "bad-date",
            "must be a date such as 2026-11-23",
        ))
    })
}

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
    /// Revenue, decimal text (`"12.50"`).
    revenue: String,
    /// Revenue in cents.
    revenue_cents: i64,
}

impl Totals {
    /// Totals as the API shows them: the quantity as exact decimal text, revenue in
    /// cents and as money text.
    fn new(key: String, lines: u64, quantity: impl std::fmt::Display, revenue_cents: i64) -> Self {
        Self {
            key,
            lines,
            quantity: quantity.to_string(),
            revenue: format_cents(revenue_cents),
            revenue_cents,
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
    State(s): State<Services>,
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
        .map(|r| Totals::new(r.key, r.lines, r.quantity, r.revenue_cents))
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
    State(s): State<Services>,
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
            Totals::new(day, d.lines, d.quantity, d.revenue_cents)
        })
        .collect();
    Ok(Json(SalesDaily {
        store: p.store,
        days: rows,
    })
    .into_response())
}

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
    State(s): State<Services>,
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

fn quantity(v: &serde_json::Value) -> Result<kcl_core::domain::Quantity, ServiceError> {
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
        (status = 413, description = "A body over 64 KiB (`body-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `content-type: application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad SKU or quantity (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn set_stock(
    State(s): State<Services>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    let q = quantity(&body.quantity)?;
    Ok(stock_json(s.sales.change_stock(&sku, StockChange::Set(q)).await?).into_response())
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
        (status = 413, description = "A body over 64 KiB (`body-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `content-type: application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad SKU or quantity (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn receive_stock(
    State(s): State<Services>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    let q = quantity(&body.quantity)?;
    Ok(stock_json(s.sales.change_stock(&sku, StockChange::Receive(q)).await?).into_response())
}

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
}

/// Writes a report and answers where it is; shared with the web UI.
pub(crate) async fn make_report(
    s: &Services,
    from: &str,
    to: &str,
    store: Option<&str>,
    format: Option<&str>,
) -> Result<kcl_core::services::ReportWritten, Problem> {
    let format = match format.unwrap_or("csv") {
        "csv" | "" => ReportFormat::Csv,
        "pdf" => ReportFormat::Pdf,
        _ => {
            return Err(Problem::from(ServiceError::Invalid(
                kcl_core::domain::ValidationError::field(
                    "format",
                    "bad-format",
                    "must be csv or pdf",
                ),
            )))
        }
    };
    let (from, to) = (date("from", from)?, date("to", to)?);
    let store = store.filter(|s| !s.is_empty());
    let mut written = s.sales.write_report(from, to, store, format).await?;
    if written.url.is_none() {
        written.url = Some(format!("/api/{}", written.key));
    }
    Ok(written)
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
        (status = 413, description = "A body over 64 KiB (`body-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `content-type: application/json` (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`), a bad date, range, store or format (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "PDF reports are not in this build (`not-enabled`), or a dependency is down (`unavailable`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "`5`"))),
    )
)]
pub(crate) async fn create_report(
    State(s): State<Services>,
    ApiJson(r): ApiJson<ReportRequest>,
) -> Result<Response, ApiError> {
    let written = make_report(&s, &r.from, &r.to, r.store.as_deref(), r.format.as_deref()).await?;
    let mut res = (StatusCode::CREATED, Json(&written)).into_response();
    if let Some(Ok(v)) = written.url.as_deref().map(HeaderValue::from_str) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
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
    State(s): State<Services>,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    let blob = s.sales.report(&format!("reports/{name}")).await?;
    let ct = HeaderValue::from_str(&blob.meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut res = Body::from(blob.data).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, ct);
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}
