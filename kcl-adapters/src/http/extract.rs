//! Extractors that turn every rejection into a 4xx problem document.

use std::collections::BTreeMap;

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use utoipa::openapi::RefOr;

use super::problem::Problem;

/// `$name<T>` extracts what axum's `$axum<T>` does, from the request's `parts` or
/// its `body`, and turns a rejection into a problem document with `$problem`.
macro_rules! problem_extractor {
    ($name:ident: parts of $axum:ident, $problem:expr) => {
        impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for $name<T> {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                let $axum(v) = $axum::<T>::from_request_parts(parts, state)
                    .await
                    .map_err($problem)?;
                Ok(Self(v))
            }
        }
    };
    ($name:ident: body of $axum:ident, $problem:expr) => {
        impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for $name<T> {
            type Rejection = Problem;

            async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
                let $axum(v) = $axum::<T>::from_request(req, state)
                    .await
                    .map_err($problem)?;
                Ok(Self(v))
            }
        }
    };
}

/// JSON body; malformed bodies give `400 bad-json`, wrong content type `415`,
/// too large `413`.
pub(crate) struct ApiJson<T>(pub(crate) T);

problem_extractor!(ApiJson: body of Json, json_problem);

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

/// The answers of an operation taking an [`ApiJson`] body about the body itself
/// (`413 body-too-large`, `415 unsupported-media-type`), for its
/// `#[utoipa::path(responses(...))]`.
pub(crate) struct JsonBodyProblems;

impl utoipa::IntoResponses for JsonBodyProblems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        [
            ("413", "A body over 64 KiB (`body-too-large`)"),
            (
                "415",
                "Not `content-type: application/json` (`unsupported-media-type`)",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let answer = super::openapi::problem_response(description).build();
            (status.to_owned(), RefOr::T(answer))
        })
        .collect()
    }
}

/// Query string; unknown parameters and wrong types give `400 bad-query`.
pub(crate) struct ApiQuery<T>(pub(crate) T);

problem_extractor!(ApiQuery: parts of Query, |e: QueryRejection| {
    Problem::new(StatusCode::BAD_REQUEST, "bad-query", e.body_text())
});

/// Path parameters; a malformed id gives `400 bad-path` (for example not a UUID).
pub(crate) struct ApiPath<T>(pub(crate) T);

problem_extractor!(ApiPath: parts of Path, |e: PathRejection| {
    Problem::new(StatusCode::BAD_REQUEST, "bad-path", e.body_text())
});

/// Form body (web UI); rejections become a `400` problem, shown by the UI as a page.
pub(crate) struct ApiForm<T>(pub(crate) T);

problem_extractor!(ApiForm: body of Form, |e: FormRejection| {
    Problem::new(e.status(), "bad-form", e.body_text())
});

/// The most bytes a short multipart text field (a name, a policy) may hold.
pub(crate) const MAX_TEXT_FIELD: usize = 1024;

/// Reads a short multipart text field, at most [`MAX_TEXT_FIELD`] bytes, chunk by
/// chunk: a longer one is refused (`422 field-too-long`) as soon as it passes the
/// limit, never read whole into memory; a field that is not UTF-8 is `422` too.
pub(crate) async fn text_field(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<String, Problem> {
    let name = field.name().unwrap_or("field").to_owned();
    let mut bytes = Vec::new();
    loop {
        let chunk = field
            .chunk()
            .await
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text()))?;
        let Some(chunk) = chunk else { break };
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "field-too-long",
                format!("the `{name}` field holds at most {MAX_TEXT_FIELD} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-multipart",
            format!("the `{name}` field is not UTF-8 text"),
        )
    })
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
