//! The pages' style sheets and script, served as files so that the pages' Content
//! Security Policy can forbid every inline style and script (`'unsafe-inline'`).
//!
//! The base style is Pico CSS (classless, v2.1.1, MIT: `assets/PICO-LICENSE.md`),
//! vendored from the npm registry (`@picocss/pico`, `css/pico.classless.min.css`)
//! and served by KCL itself: nothing is fetched from elsewhere at run time. KCL's
//! own sheet comes after it.
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

/// Pico CSS, classless (see the module's documentation).
const PICO_CSS: &str = include_str!("../../../assets/pico.classless.min.css");

/// KCL's style sheet, after Pico's. Pico draws its form icons (a select's chevron,
/// a checkbox's tick, valid and invalid marks) as `data:` images, which the pages'
/// policy (`img-src 'self'`) refuses: they are turned off here, so no page asks for
/// one.
const APP_CSS: &str = ":root{--pico-icon-checkbox:none!important;--pico-icon-chevron:none!important;--pico-icon-close:none!important;--pico-icon-date:none!important;--pico-icon-invalid:none!important;--pico-icon-loading:none!important;--pico-icon-minus:none!important;--pico-icon-search:none!important;--pico-icon-time:none!important;--pico-icon-valid:none!important;--pico-font-size:100%}
body>main,body{max-width:72rem;margin:0 auto;padding:.5rem 1rem}
nav{display:flex;flex-wrap:wrap;justify-content:flex-start;gap:.3rem 1.2rem;align-items:center;padding:.5rem 0;border-bottom:1px solid var(--pico-muted-border-color)}
nav form.inline{margin:0}nav button{padding:.2rem .6rem;margin:0;width:auto}
h1{margin-top:1rem}
table{width:100%}td,th{vertical-align:top}
form.inline{display:inline}label.inline{display:inline}
fieldset{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:end}fieldset label{flex:1 1 12rem}
fieldset button,fieldset [type=submit],form.inline [type=submit]{width:auto}
:focus-visible{outline:3px solid #0b5cad;outline-offset:2px}
small.field-error{display:block;color:#a00;margin-top:-.5rem;margin-bottom:.5rem}
.error{background:#fde8e8;border:1px solid #c00;border-radius:.3rem;padding:.5rem 1rem;color:#600}.muted{color:var(--pico-muted-color)}
@media (max-width:40rem){fieldset label{flex-basis:100%}table{font-size:.9rem;display:block;overflow-x:auto}}
img.thumb{vertical-align:middle;margin-right:.5em}
pre.text{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
code,.path{font-family:ui-monospace,monospace}
.op{border:1px solid #ddd;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.op h3{margin:.2rem 0;font-size:1.05rem}
.m{display:inline-block;min-width:4.2rem;font:bold .85rem ui-monospace,monospace;text-transform:uppercase}
.m-get{color:#036}.m-post{color:#060}.m-put{color:#840}.m-patch{color:#640}.m-delete{color:#a00}
.desc{white-space:pre-line}.op h4{margin:.6rem 0 .2rem;font-size:.95rem}
.lock{font-size:.85rem;color:#555}td.st{font-weight:bold;width:4rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}caption{text-align:left;color:#666;padding:.3rem 0}
figure{margin:1rem 0}figcaption{color:#666;font-size:.9rem}svg.chart{display:block;max-width:48rem;height:auto}
svg.chart .grid{stroke:#e3e3e3}svg.chart .axis,svg.chart .value{font-size:11px;fill:#555}
svg.chart .line{stroke:#0b5cad;stroke-width:2}svg.chart .point,svg.chart .bar{fill:#0b5cad}
details>summary{cursor:pointer;color:var(--pico-primary)}details>summary::after{display:none}details>summary::before{content:\"\\25B8  \"}details[open]>summary::before{content:\"\\25BE  \"}
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
static PICO: LazyLock<Asset> = LazyLock::new(|| asset(PICO_CSS, "text/css; charset=utf-8"));
static JS: LazyLock<Asset> = LazyLock::new(|| asset(APP_JS, "text/javascript; charset=utf-8"));

/// The style sheet's URL, with its version.
pub(crate) fn css_url() -> String {
    crate::http::access::href(&format!("/ui/static/app.css?v={}", CSS.version))
}

/// Pico's style sheet's URL, with its version.
pub(crate) fn pico_url() -> String {
    crate::http::access::href(&format!("/ui/static/pico.css?v={}", PICO.version))
}

/// The script's URL, with its version.
pub(crate) fn js_url() -> String {
    crate::http::access::href(&format!("/ui/static/app.js?v={}", JS.version))
}

/// `GET /ui/static/{name}`: `pico.css`, `app.css` or `app.js`.
pub(crate) async fn serve(Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let a: &Asset = match name.as_str() {
        "pico.css" => &PICO,
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
