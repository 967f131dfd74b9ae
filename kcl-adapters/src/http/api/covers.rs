//! Cover uploads, processing statuses and cover images.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use kcl_core::domain::BookId;
use kcl_core::ports::ProcessingStatus;
use kcl_core::services::CoverImage;
use kcl_core::Services;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{file, located};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::forms::{status_url, upload_cover};
use crate::http::problem::{ApiError, Problem};

/// A cover accepted for processing.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CoverAccepted)]
pub(crate) struct Accepted {
    /// The image's key.
    key: String,
    /// `PENDING`: the thumbnail is yet to be made.
    #[schema(value_type = String, example = "PENDING")]
    status: &'static str,
    /// Where to read the processing status.
    status_url: String,
}

/// Bytes of a file (the schema of an uploaded or downloaded file).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct Binary(#[allow(dead_code)] Vec<u8>);

/// A cover as a multipart form (the schema of the upload; never built).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct CoverForm {
    /// The image: JPEG, PNG, WebP or GIF.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// `POST /api/books/{id}/cover`: 202 with the key and the status URL.
#[utoipa::path(
    post,
    path = "/api/books/{id}/cover",
    tag = "covers",
    operation_id = "upload_cover",
    summary = "Uploads a book's cover; a thumbnail is made in the background.",
    description = "The image is the body (`content-type: image/...`) or the multipart field `file`. \
        It is checked before anything is stored; a new cover replaces the old one.",
    params(("id" = Uuid, Path, description = "The book's id")),
    request_body(content(
        (CoverForm = "multipart/form-data"),
        (Binary = "image/jpeg"),
        (Binary = "image/png"),
        (Binary = "image/webp"),
        (Binary = "image/gif"),
    )),
    responses(
        (status = 202, description = "Accepted: the thumbnail is pending", body = Accepted,
            headers(("Location" = String, description = "The status URL"))),
        (status = 400, description = "The id is not a UUID (`bad-path`) or the multipart body cannot be read (`bad-multipart`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 20 MiB, or over the image size limits (`too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, WebP or GIF by its first bytes, or empty (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A multipart form without a `file` field (`missing-file`) or an unreadable image header (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn upload(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> Result<Response, ApiError> {
    let accepted = upload_cover(&s, BookId(id), req).await?;
    let url = status_url(&accepted.key);
    let body = Accepted {
        status: accepted.status.status.as_str(),
        status_url: url.clone(),
        key: accepted.key,
    };
    Ok(located(StatusCode::ACCEPTED, body, Some(&url)))
}

/// The key of `GET /api/processing`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatusQuery {
    /// The object key (`uploads/...`).
    key: String,
}

/// `GET /api/processing?key=...`.
#[utoipa::path(
    get,
    path = "/api/processing",
    tag = "covers",
    operation_id = "get_processing_status",
    summary = "The processing status of an uploaded object.",
    params(StatusQuery),
    responses(
        (status = 200, description = "The status", body = ProcessingStatus),
        (status = 400, description = "No `key`, or an unknown query parameter (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No status for that key (`not-found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A key that cannot be one (`validation-failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn status(
    State(s): State<Arc<Services>>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(s.covers.status(&q.key).await?).into_response())
}

/// `GET /api/books/{id}/cover` and `/cover/thumb`.
async fn image(s: Arc<Services>, id: Uuid, thumbnail: bool) -> Result<Response, ApiError> {
    match s.covers.image(BookId(id), thumbnail).await? {
        CoverImage::Redirect(url) => Ok(Redirect::temporary(&url).into_response()),
        CoverImage::Bytes(blob) => {
            let no_cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            Ok(file(blob, no_cache))
        }
    }
}

/// A book's cover image.
#[utoipa::path(
    get,
    path = "/api/books/{id}/cover",
    tag = "covers",
    operation_id = "get_cover",
    params(("id" = Uuid, Path, description = "The book's id")),
    responses(
        (status = 200, description = "The original image", content_type = "image/*", body = Binary,
            headers(("Cache-Control" = String, description = "`no-cache`"))),
        (status = 307, description = "Where the store has presigned URLs: the image's URL, valid 5 minutes",
            headers(("Location" = String, description = "The presigned URL"))),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book, or no cover yet (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cover(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    image(s, id, false).await
}

/// A book's cover thumbnail.
#[utoipa::path(
    get,
    path = "/api/books/{id}/cover/thumb",
    tag = "covers",
    operation_id = "get_cover_thumbnail",
    params(("id" = Uuid, Path, description = "The book's id")),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/*", body = Binary,
            headers(("Cache-Control" = String, description = "`no-cache`"))),
        (status = 307, description = "Where the store has presigned URLs: the thumbnail's URL, valid 5 minutes",
            headers(("Location" = String, description = "The presigned URL"))),
        (status = 400, description = "The id is not a UUID (`bad-path`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book, or no thumbnail yet (`not-found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn thumbnail(
    State(s): State<Arc<Services>>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    image(s, id, true).await
}
