//! Extractors that turn every rejection into a 4xx problem document.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// JSON body; malformed bodies give `400 bad-json`, wrong content type `415`,
/// too large `413`.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(json_problem(e)),
        }
    }
}

fn json_problem(e: JsonRejection) -> Problem {
    let status = e.status();
    let code = match &e {
        JsonRejection::MissingJsonContentType(_) => "unsupported-media-type",
        JsonRejection::JsonSyntaxError(_) => "bad-json",
        JsonRejection::JsonDataError(_) => "bad-json-data",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        _ => "bad-request",
    };
    Problem::new(status, code, e.body_text())
}

/// Query string; unknown parameters and wrong types give `400 bad-query`.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(query_problem(e)),
        }
    }
}

fn query_problem(e: QueryRejection) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text())
}

/// Path parameters; a malformed id gives `400 bad-path` (for example not a UUID).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(path_problem(e)),
        }
    }
}

fn path_problem(e: PathRejection) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad-path", e.body_text())
}

/// Form body (web UI); rejections become a `400` problem, shown by the UI as a page.
pub(crate) struct ApiForm<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Form::<T>::from_request(req, state).await {
            Ok(axum::extract::Form(v)) => Ok(Self(v)),
            Err(e) => Err(form_problem(e)),
        }
    }
}

fn form_problem(e: FormRejection) -> Problem {
    Problem::new(e.status(), "bad-form", e.body_text())
}
