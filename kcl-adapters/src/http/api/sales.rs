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
use kcl_core::services::{parse_quantity, IngestOptions, IngestReport, IngestStatus, ReportFormat};
use kcl_core::{ServiceError, Services};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

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

fn internal(e: std::io::Error) -> Problem {
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadQuery {
    name: Option<String>,
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
                    let v = field.text().await.map_err(|e| {
                        Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
                    })?;
                    if !v.trim().is_empty() {
                        name = Some(v);
                    }
                }
                Some("policy") => {
                    pol = Some(field.text().await.map_err(|e| {
                        Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
                    })?)
                }
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

/// A rejected file: a 422 problem document carrying the report.
#[derive(Serialize)]
struct Rejected<'a> {
    #[serde(flatten)]
    problem: Problem,
    report: &'a IngestReport,
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
                Json(Rejected { problem, report }),
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryParams {
    from: Option<String>,
    to: Option<String>,
    store: Option<String>,
    sku: Option<String>,
    group_by: Option<String>,
}

/// A summary or daily row as JSON: quantities and amounts as exact decimal text.
#[derive(Serialize)]
pub(crate) struct Totals {
    key: String,
    lines: u64,
    quantity: String,
    revenue: String,
    revenue_cents: i64,
}

/// `GET /api/sales/summary?from=&to=&store=&sku=&group_by=day|store|sku`.
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
        .map(|r| Totals {
            key: r.key,
            lines: r.lines,
            quantity: r.quantity.to_string(),
            revenue: format_cents(r.revenue_cents),
            revenue_cents: r.revenue_cents,
        })
        .collect();
    Ok(Json(serde_json::json!({ "group_by": group_by, "rows": rows })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DailyParams {
    store: String,
    from: String,
    to: String,
}

/// `GET /api/sales/daily?store=&from=&to=`: a store's kept daily totals.
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
        .map(|d| Totals {
            key: d.date.format("%Y-%m-%d").to_string(),
            lines: d.lines,
            quantity: d.quantity.to_string(),
            revenue: format_cents(d.revenue_cents),
            revenue_cents: d.revenue_cents,
        })
        .collect();
    Ok(Json(serde_json::json!({ "store": p.store, "days": rows })).into_response())
}

#[derive(Serialize)]
struct Stock {
    sku: String,
    quantity: String,
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
pub(crate) async fn stock(
    State(s): State<Services>,
    ApiPath(sku): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(stock_json(s.sales.stock(&sku).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuantityBody {
    quantity: serde_json::Value,
}

fn quantity(v: &serde_json::Value) -> Result<kcl_core::domain::Quantity, ServiceError> {
    match v {
        serde_json::Value::String(s) => parse_quantity(s),
        serde_json::Value::Number(n) => parse_quantity(&n.to_string()),
        _ => parse_quantity(""),
    }
}

/// `PUT /api/stock/{sku}` `{"quantity": "12.5"}`: sets the quantity on hand.
pub(crate) async fn set_stock(
    State(s): State<Services>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    let q = quantity(&body.quantity)?;
    Ok(stock_json(s.sales.change_stock(&sku, StockChange::Set(q)).await?).into_response())
}

/// `POST /api/stock/{sku}/receipts` `{"quantity": 10}`: adds a received quantity.
pub(crate) async fn receive_stock(
    State(s): State<Services>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityBody>,
) -> Result<Response, ApiError> {
    let q = quantity(&body.quantity)?;
    Ok(stock_json(s.sales.change_stock(&sku, StockChange::Receive(q)).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportRequest {
    from: String,
    to: String,
    store: Option<String>,
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
