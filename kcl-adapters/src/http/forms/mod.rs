//! The readers of uploaded forms and bodies, shared by the API and the web UI: a
//! cover image, an OCR job's images, a sales file ([`sales`]); and the uploads of
//! a cover and an OCR job that they feed; the audit log's query ([`audit`]).

pub(crate) mod audit;
pub(crate) mod sales;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use bytes::Bytes;
use kcl_core::domain::BookId;
use kcl_core::services::{CoverAccepted, JobView};
use kcl_core::{ServiceError, Services};

use super::problem::{within_request_timeout, Problem};

/// Room for multipart framing around the image.
pub(crate) const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The URL of a key's processing status.
pub(crate) fn status_url(key: &str) -> String {
    let mut out = crate::http::access::href("/api/processing?key=");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the upload is over the {limit}-byte limit"),
    )
}

/// Uploads the cover image of the request (see [`read_upload`]) for `book`, in a
/// task of its own: a timeout or a client hanging up cannot cut the commit in
/// half (see [`within_request_timeout`]).
pub(crate) async fn upload_cover(
    s: &Services,
    book: BookId,
    req: Request,
) -> Result<CoverAccepted, Problem> {
    let data = read_upload(req, s.covers.settings().limits.max_bytes).await?;
    let covers = s.covers.clone();
    let task = kcl_core::context::spawn(async move { covers.upload(book, data).await });
    Ok(within_request_timeout(task).await?)
}

/// Creates the OCR job of the request's form (see [`read_job_form`]), in a task of
/// its own: a timeout or a client hanging up cannot cut the commit in half.
pub(crate) async fn create_job(s: &Services, req: Request) -> Result<JobView, Problem> {
    create_job_keeping(s, req).await.0
}

/// [`create_job`], with the job's name as the form sent it (empty when it sent
/// none): the page shows it again when the job is refused.
pub(crate) async fn create_job_keeping(
    s: &Services,
    req: Request,
) -> (Result<JobView, Problem>, String) {
    let set = *s.jobs.settings();
    let mut typed = None;
    let read = read_job_form(req, set.max_images, set.max_total_bytes, &mut typed).await;
    let shown = typed.clone().unwrap_or_default();
    let images = match read {
        Ok(images) => images,
        Err(p) => return (Err(p), shown),
    };
    let Some(name) = typed else {
        let p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-name",
            "the form has no `name` field",
        );
        return (Err(p), shown);
    };
    let jobs = s.jobs.clone();
    let created =
        match kcl_core::context::spawn(async move { jobs.create(&name, images).await }).await {
            Ok(done) => done.map_err(Problem::from),
            Err(e) => Err(ServiceError::Internal(Box::new(e)).into()),
        };
    (created, shown)
}

/// The image of an upload: the multipart field `file`, or the whole body.
async fn read_upload(req: Request, limit: u64) -> Result<Bytes, Problem> {
    if declared_over(&req, limit) {
        return Err(too_large(limit));
    }
    if !is_multipart(&req) {
        return axum::body::to_bytes(req.into_body(), limit as usize)
            .await
            .map_err(|_| too_large(limit));
    }
    let mut form = multipart(req).await?;
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| multipart_problem(e.status(), e.body_text(), limit))?;
        let Some(field) = field else {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing-file",
                "the form has no `file` field",
            ));
        };
        if field.name() == Some("file") {
            let data = field
                .bytes()
                .await
                .map_err(|e| multipart_problem(e.status(), e.body_text(), limit))?;
            if data.len() as u64 > limit {
                return Err(too_large(limit));
            }
            return Ok(data);
        }
    }
}

/// Whether the request's `Content-Length` is over `limit` and room for multipart
/// framing: such a body is refused before a byte of it is read.
fn declared_over(req: &Request, limit: u64) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit + MULTIPART_OVERHEAD as u64)
}

/// Whether the request's body is a multipart form (by its `Content-Type`).
fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
}

/// The request as a multipart form; one that cannot be is `400 bad-multipart`.
async fn multipart(req: Request) -> Result<Multipart, Problem> {
    Multipart::from_request(req, &())
        .await
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text()))
}

/// A multipart read error: 413 when the body went over `limit`, else 400.
pub(crate) fn multipart_problem(status: StatusCode, text: String, limit: u64) -> Problem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", text)
    }
}

/// The `images` of a job form (repeated, as in the seed); its `name` field goes
/// to `name` as soon as it is read, so a refused form can show it again.
async fn read_job_form(
    req: Request,
    max_images: usize,
    max_bytes: u64,
    name: &mut Option<String>,
) -> Result<Vec<Bytes>, Problem> {
    let too_large = |what: String| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", what);
    if declared_over(&req, max_bytes) {
        return Err(too_large(format!(
            "the request is over the {max_bytes}-byte limit"
        )));
    }
    let mut form = multipart(req).await?;
    let (mut images, mut total) = (Vec::new(), 0u64);
    loop {
        let read_error = |e: axum::extract::multipart::MultipartError| {
            multipart_problem(e.status(), e.body_text(), max_bytes)
        };
        let field = form.next_field().await.map_err(read_error)?;
        let Some(field) = field else { break };
        match field.name() {
            Some("name") => *name = Some(crate::http::extract::text_field(field).await?),
            Some("images") => {
                if images.len() == max_images {
                    return Err(too_large(format!(
                        "a job takes at most {max_images} images"
                    )));
                }
                let data = field.bytes().await.map_err(read_error)?;
                total += data.len() as u64;
                if total > max_bytes {
                    return Err(too_large(format!("images over the {max_bytes}-byte limit")));
                }
                images.push(data);
            }
            _ => {} // other fields are ignored, like a browser's submit button
        }
    }
    Ok(images)
}
