//! OCR jobs: create (multipart), list, detail, rename, delete.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use kcl_core::domain::JobId;
use kcl_core::Services;
use serde::Deserialize;
use uuid::Uuid;

use super::covers::{multipart_problem, MULTIPART_OVERHEAD};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::{ApiError, Problem};

/// The `name` and `images` fields of a job form (`images` repeated, as in the seed).
pub(crate) async fn read_job_form(
    req: Request,
    max_images: usize,
    max_bytes: u64,
) -> Result<(String, Vec<Bytes>), Problem> {
    let too_large = |what: String| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", what);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes + MULTIPART_OVERHEAD as u64) {
        return Err(too_large(format!(
            "the request is over the {max_bytes}-byte limit"
        )));
    }
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text()))?;
    let (mut name, mut images, mut total) = (None, Vec::new(), 0u64);
    loop {
        let read_error = |e: axum::extract::multipart::MultipartError| {
            multipart_problem(e.status(), e.body_text(), max_bytes)
        };
        let field = form.next_field().await.map_err(read_error)?;
        let Some(field) = field else { break };
        match field.name() {
            Some("name") => name = Some(field.text().await.map_err(read_error)?),
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
    let name = name.ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing-name",
            "the form has no `name` field",
        )
    })?;
    Ok((name, images))
}

/// `POST /api/jobs` (multipart `name` + repeated `images`) → 201 with the job.
pub(crate) async fn create(State(s): State<Services>, req: Request) -> Result<Response, ApiError> {
    let set = *s.jobs.settings();
    let (name, images) = read_job_form(req, set.max_images, set.max_total_bytes).await?;
    // Its own task: a timeout or a client hanging up cannot cut the commit in half.
    let jobs = s.jobs.clone();
    let job = kcl_core::context::spawn(async move { jobs.create(&name, images).await })
        .await
        .map_err(|e| kcl_core::ServiceError::Internal(Box::new(e)))??;
    let location = format!("/api/jobs/{}", job.job.id);
    let mut res = (StatusCode::CREATED, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    page: Option<u64>,
    per_page: Option<u32>,
}

/// `GET /api/jobs?page=&per_page=`.
pub(crate) async fn list(
    State(s): State<Services>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.list(q.page, q.per_page).await?).into_response())
}

/// `GET /api/jobs/{id}`.
pub(crate) async fn get(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.get(JobId(id)).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rename {
    name: String,
}

/// `PATCH /api/jobs/{id}` `{"name"}`.
pub(crate) async fn rename(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.rename(JobId(id), &body.name).await?).into_response())
}

/// `DELETE /api/jobs/{id}` → 204.
pub(crate) async fn delete(
    State(s): State<Services>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    s.jobs.delete(JobId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
