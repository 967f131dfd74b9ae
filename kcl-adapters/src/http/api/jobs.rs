//! OCR jobs: create (multipart), list, detail, rename, delete.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kcl_core::domain::JobId;
use kcl_core::services::{JobList, JobView};
use kcl_core::Services;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::located;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, JsonBodyProblems};
use crate::http::forms::create_job;
use crate::http::problem::{ApiError, Problem};

/// A new OCR job as a multipart form (the schema of the request; never built).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct JobForm {
    /// The job's name, 1 to 200 characters.
    name: String,
    /// One field per image (JPEG, PNG, WebP or GIF).
    #[schema(value_type = Vec<String>, format = Binary)]
    images: Vec<Vec<u8>>,
}

/// `POST /api/jobs` (multipart `name` + repeated `images`) → 201 with the job.
#[utoipa::path(
    post,
    path = "/api/jobs",
    tag = "jobs",
    operation_id = "create_job",
    summary = "Creates an OCR job: a name and one `images` field per image.",
    request_body(content = JobForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The job, its items pending", body = JobView,
            headers(("Location" = String, description = "`/api/jobs/{id}`"))),
        (status = 400, description = "The multipart body cannot be read (`bad-multipart`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many images, over the byte limit, or over the image limits (`too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "An image that is not one (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `name` (`missing-name`), no image, or a bad name (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "OCR is not in this build (`not-enabled`), or a dependency is down (`unavailable`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "`5`"))),
    )
)]
pub(crate) async fn create(
    State(s): State<Arc<Services>>,
    req: Request,
) -> Result<Response, ApiError> {
    let job = create_job(&s, req).await?;
    let location = crate::http::access::href(&format!("/api/jobs/{}", job.job.id));
    Ok(located(StatusCode::CREATED, job, Some(&location)))
}

/// The page of `GET /api/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Jobs per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// `GET /api/jobs?page=&per_page=`.
#[utoipa::path(
    get,
    path = "/api/jobs",
    tag = "jobs",
    operation_id = "list_jobs",
    summary = "Lists OCR jobs with their status and counts, newest first.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 400, description = "An unknown query parameter or a value of the wrong type (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A page or per_page out of range (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.list(q.page, q.per_page).await?).into_response())
}

/// `GET /api/jobs/{id}`.
#[utoipa::path(
    get,
    path = "/api/jobs/{id}",
    tag = "jobs",
    operation_id = "get_job",
    summary = "An OCR job with its items.",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn get(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.get(JobId(id)).await?).into_response())
}

/// The body of `PATCH /api/jobs/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JobRename)]
pub(crate) struct Rename {
    /// The new name, 1 to 200 characters.
    name: String,
}

/// `PATCH /api/jobs/{id}` `{"name"}`.
#[utoipa::path(
    patch,
    path = "/api/jobs/{id}",
    tag = "jobs",
    operation_id = "rename_job",
    summary = "Renames an OCR job.",
    params(("id" = Uuid, Path, description = "The job's id")),
    request_body = Rename,
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "The id is not a UUID (`bad-path`), or the body is not JSON (`bad-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job (`not-found`)", body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 422, description = "JSON of the wrong shape (`bad-json-data`) or a bad name (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn rename(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Rename>,
) -> Result<Response, ApiError> {
    Ok(Json(s.jobs.rename(JobId(id), &body.name).await?).into_response())
}

/// `DELETE /api/jobs/{id}` → 204.
#[utoipa::path(
    delete,
    path = "/api/jobs/{id}",
    tag = "jobs",
    operation_id = "delete_job",
    summary = "Deletes an OCR job, its images and rows (the audit keeps its history).",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn delete(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    s.jobs.delete(JobId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
