//! The sales forms, shared by the API and the web UI: a sales file streamed to a
//! spool file (never held in memory) and ingested in a task of its own, and a
//! report written for a period.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::StatusCode;
use chrono::NaiveDate;
use futures::StreamExt;
use kcl_core::domain::{IngestPolicy, SalesFormat};
use kcl_core::services::{IngestOptions, IngestReport, ReportFormat};
use kcl_core::{ServiceError, Services};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;

use crate::http::problem::Problem;

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
    /// Which of the file's headers holds each of KCL's columns, for a file that
    /// names them otherwise (`docs/sales.md`).
    #[param(example = "store_id:Branch,sku:Product line,product_name:Product line,sale_date:Date")]
    columns: Option<String>,
    /// The order of dates written with slashes: `dmy` (default), `mdy` or `ymd`.
    #[param(example = "mdy")]
    date_order: Option<String>,
    /// The tax rate, in percent, that the file's `total` column includes.
    #[param(example = "5")]
    tax_rate: Option<String>,
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

/// A sales file received over HTTP: its name, policy, format and spooled bytes.
pub(crate) struct ReceivedFile {
    pub(crate) name: String,
    pub(crate) policy: IngestPolicy,
    pub(crate) format: Option<SalesFormat>,
    _upload: Upload,
    pub(crate) path: PathBuf,
}

/// Reads a sales upload: a raw body (`?name=` required) or a multipart form with a
/// `file` field (its file name is the default name) and optional `name`, `policy`,
/// `columns`, `date_order` and `tax_rate` fields (over the query's); streamed to a
/// spool file, never held in memory.
pub(crate) async fn receive_file(
    s: &Services,
    q: UploadQuery,
    req: Request,
) -> Result<ReceivedFile, Problem> {
    receive_file_keeping(s, q, req).await.0
}

/// The text fields of a sales upload as they were sent (the page shows them
/// again when the upload is refused).
#[derive(Debug, Clone, Default)]
pub(crate) struct UploadFields {
    pub(crate) policy: Option<String>,
    pub(crate) columns: Option<String>,
    pub(crate) date_order: Option<String>,
    pub(crate) tax_rate: Option<String>,
}

/// [`receive_file`], with the text fields read before it finished or failed.
pub(crate) async fn receive_file_keeping(
    s: &Services,
    q: UploadQuery,
    req: Request,
) -> (Result<ReceivedFile, Problem>, UploadFields) {
    let UploadQuery {
        name,
        policy,
        columns,
        date_order,
        tax_rate,
    } = q;
    let mut typed = UploadFields {
        policy,
        columns,
        date_order,
        tax_rate,
    };
    let received = receive_into(s, name, req, &mut typed).await;
    (received, typed)
}

/// Reads the upload of `req` (the query's `name`, and its other fields already in
/// `typed`), the form's fields going to `typed` as they are read.
async fn receive_into(
    s: &Services,
    mut name: Option<String>,
    req: Request,
    typed: &mut UploadFields,
) -> Result<ReceivedFile, Problem> {
    let max = s.sales.settings().max_file_bytes;
    if super::declared_over(&req, max) {
        return Err(too_large(max));
    }
    let path = s
        .sales
        .spool_dir()
        .join(format!("kcl-sales-upload-{}.csv", uuid::Uuid::new_v4()));
    let upload = Upload(path.clone());
    if super::is_multipart(&req) {
        let mut form = super::multipart(req).await?;
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
                Some("policy") => {
                    typed.policy = Some(crate::http::extract::text_field(field).await?)
                }
                Some("columns") => {
                    typed.columns = Some(crate::http::extract::text_field(field).await?)
                }
                Some("date_order") => {
                    typed.date_order = Some(crate::http::extract::text_field(field).await?)
                }
                Some("tax_rate") => {
                    typed.tax_rate = Some(crate::http::extract::text_field(field).await?)
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
    let format = SalesFormat::parse(
        typed.columns.as_deref(),
        typed.date_order.as_deref(),
        typed.tax_rate.as_deref(),
    )
    .map_err(|e| {
        Problem::from(ServiceError::Invalid(
            kcl_core::domain::ValidationError::field(e.field, e.code, e.message),
        ))
    })?;
    Ok(ReceivedFile {
        name,
        policy: policy(typed.policy.as_deref()).map_err(|p| *p)?,
        format: (!format.is_default()).then_some(format),
        _upload: upload,
        path,
    })
}

/// Ingests a received file in a task of its own: a timeout or a client hanging up
/// cannot cut the load in half. Shared with the web UI.
pub(crate) async fn ingest_received(
    s: &Services,
    file: ReceivedFile,
) -> Result<IngestReport, ServiceError> {
    let sales = s.sales.clone();
    // A task of its own, so a client that hangs up cannot cut the load short; it
    // keeps the request's id and session.
    kcl_core::context::spawn(async move {
        let opts = IngestOptions {
            policy: file.policy,
            progress: None,
            format: file.format,
        };
        sales.ingest_path(&file.name, &file.path, opts).await
    })
    .await
    .map_err(|e| ServiceError::Internal(Box::new(e)))?
}

pub(crate) fn date(field: &'static str, v: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        ServiceError::Invalid(kcl_core::domain::ValidationError::field(
            field,
            "bad-date",
            "must be a date such as 2026-11-23",
        ))
    })
}

/// Writes a report and answers where it is; shared with the web UI.
pub(crate) async fn make_report(
    s: &Services,
    from: &str,
    to: &str,
    store: Option<&str>,
    format: Option<&str>,
    locale: Option<&str>,
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
    let locale = match locale.map(str::trim).filter(|l| !l.is_empty()) {
        None => s.sales.settings().locale,
        Some(l) => kcl_core::domain::Locale::parse_exact(l).ok_or_else(|| {
            Problem::from(ServiceError::Invalid(
                kcl_core::domain::ValidationError::field(
                    "locale",
                    "bad-locale",
                    "must be en or pt-BR",
                ),
            ))
        })?,
    };
    let (from, to) = (date("from", from)?, date("to", to)?);
    let store = store.filter(|s| !s.is_empty());
    let mut written = s
        .sales
        .write_report_in(from, to, store, format, locale)
        .await?;
    if written.url.is_none() {
        written.url = Some(crate::http::access::href(&format!("/api/{}", written.key)));
    }
    Ok(written)
}
