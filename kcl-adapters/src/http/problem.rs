//! Errors as RFC 9457 problem documents (`application/problem+json`) with a stable `code`.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kcl_core::domain::FieldError;
use kcl_core::ServiceError;
use serde::Serialize;

/// A problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-failed", "title": "Unprocessable Entity", "status": 422,
    "detail": "invalid input: isbn: the ISBN-13 check digit does not match",
    "code": "validation-failed",
    "errors": [{"field": "isbn", "code": "bad-checksum", "message": "the ISBN-13 check digit does not match"}]
}))]
pub struct Problem {
    /// A URI naming the problem type (`/problems/{code}`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the problem type: the HTTP status's reason phrase, in
    /// the request's language when the response is sent (`Bad Request`,
    /// `Requisição inválida`; `docs/http.md`). Programs read `code`.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// A stable, kebab-case code for programs.
    pub code: String,
    /// For validation problems: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem with a status, a code and a detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // The title in the request's language; `code` and `type` stay the same in all.
        self.title = super::i18n::problem_title(status);
        let retry = status == StatusCode::SERVICE_UNAVAILABLE;
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match &e {
            ServiceError::Invalid(v) => Self {
                errors: v.errors.clone(),
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            },
            ServiceError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, e.code(), e.to_string())
            }
            ServiceError::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, e.code(), e.to_string())
            }
            ServiceError::UnsupportedMedia(_) => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.code(), e.to_string())
            }
            ServiceError::NotEnabled(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string())
            }
            ServiceError::TooLarge(_) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, e.code(), e.to_string())
            }
            ServiceError::Unavailable(source) => {
                tracing::warn!(error = %source, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    e.code(),
                    "a dependency is unavailable; retry later",
                )
            }
            _ => {
                tracing::error!(error = %e, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

/// Service errors answer with their problem document.
pub(crate) struct ApiError(pub(crate) Problem);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e.into())
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

pub(crate) async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no-such-route", "no such route")
}

pub(crate) async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not accept that method",
    )
}

/// Waits for a request's work that runs in a task of its own (so that a timeout
/// never cuts it in half) for at most [`REQUEST_TIMEOUT`](super::REQUEST_TIMEOUT).
/// An upload's own deadline is minutes, for slow clients; once its body is in, a
/// dependency that hangs (a frozen S3 or DynamoDB, whose calls, and the undoing of
/// those that worked, each take up to the SDK's timeout) must not keep the client
/// waiting that long. Past it the answer is `Unavailable` (`503` with
/// `Retry-After`), and the task finishes, or undoes, its steps on its own.
pub(crate) async fn within_request_timeout<T>(
    task: tokio::task::JoinHandle<Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    match tokio::time::timeout(super::REQUEST_TIMEOUT, task).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => Err(ServiceError::Internal(Box::new(e))),
        Err(_) => Err(ServiceError::Unavailable(
            format!(
                "the work was not done within {} s; it may still complete",
                super::REQUEST_TIMEOUT.as_secs()
            )
            .into(),
        )),
    }
}

pub(crate) fn timed_out_problem() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the request took too long; retry later",
    )
}

pub(crate) fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}
