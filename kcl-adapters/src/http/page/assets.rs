//! The pages' style sheet and script, served as files so that the pages' Content
//! Security Policy can forbid every inline style and script (`'unsafe-inline'`).
//!
//! Pages link them as `/ui/static/app.css?v=<hash of the content>`: a request with the
//! current hash may be cached for a year (the next build's content has another
//! hash, hence another URL); any other request is answered fresh (`no-cache`).

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::problem::Problem;

/// The Content-Security-Policy of every response: resources only from this site,
/// no inline style or script, no plugins, no framing, forms posted only here.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

/// The style sheet of every page.
const APP_CSS: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
form.inline{display:inline}fieldset{margin:1rem 0}label{display:block;margin:.3rem 0}label.inline{display:inline}
input,textarea,select{font:inherit}
.error{background:#fee;border:1px solid #c00;padding:.5rem}.muted{color:#666}nav a{margin-right:1rem}
img.thumb{vertical-align:middle;margin-right:.5em}
pre.text{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
code,.path{font-family:ui-monospace,monospace}
.op{border:1px solid #ddd;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.op h3{margin:.2rem 0;font-size:1.05rem}
.m{display:inline-block;min-width:4.2rem;font:bold .85rem ui-monospace,monospace;text-transform:uppercase}
.m-get{color:#036}.m-post{color:#060}.m-put{color:#840}.m-patch{color:#640}.m-delete{color:#a00}
.desc{white-space:pre-line}.op h4{margin:.6rem 0 .2rem;font-size:.95rem}
.lock{font-size:.85rem;color:#555}td.st{font-weight:bold;width:4rem}
";

/// The script of every page: "Back" links go back in the history, and a page whose
/// content is still changing (`<body data-live>`) reloads itself every 2 s unless
/// the user has started filling in a form.
const APP_JS: &str = "'use strict';
document.addEventListener('DOMContentLoaded', function () {
  for (const a of document.querySelectorAll('a[data-back]')) {
    a.addEventListener('click', function (e) {
      if (history.length > 1) { e.preventDefault(); history.back(); }
    });
  }
  if (!('live' in document.body.dataset)) return;
  function dirty() {
    for (const e of document.querySelectorAll('input,textarea,select')) {
      if (e.type === 'file' ? e.files.length > 0
        : e.type === 'checkbox' || e.type === 'radio' ? e.checked !== e.defaultChecked
        : e.tagName === 'SELECT' ? [...e.options].some(o => o.selected !== o.defaultSelected)
        : e.value !== e.defaultValue) return true;
    }
    return false;
  }
  setInterval(function () { if (!dirty()) location.reload(); }, 2000);
});
";

/// A served file: its content, type and version.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    /// The first 16 hex digits of the content's SHA-256.
    version: String,
}

fn asset(body: &'static str, content_type: &'static str) -> Asset {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
    let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Asset {
        body,
        content_type,
        version,
    }
}

static CSS: LazyLock<Asset> = LazyLock::new(|| asset(APP_CSS, "text/css; charset=utf-8"));
static JS: LazyLock<Asset> = LazyLock::new(|| asset(APP_JS, "text/javascript; charset=utf-8"));

/// The style sheet's URL, with its version.
pub(crate) fn css_url() -> String {
    crate::http::access::href(&format!("/ui/static/app.css?v={}", CSS.version))
}

/// The script's URL, with its version.
pub(crate) fn js_url() -> String {
    crate::http::access::href(&format!("/ui/static/app.js?v={}", JS.version))
}

/// `GET /ui/static/{name}`: `app.css` or `app.js`.
pub(crate) async fn serve(Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let a: &Asset = match name.as_str() {
        "app.css" => &CSS,
        "app.js" => &JS,
        _ => {
            return Problem::new(StatusCode::NOT_FOUND, "not-found", "no such file").into_response()
        }
    };
    let current = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|kv| kv == format!("v={}", a.version)));
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        a.body,
    )
        .into_response()
}
