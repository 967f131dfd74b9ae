//! What every page shares: the layout (nav, title, the logged-in user), error
//! pages, the style sheet and script ([`assets`]), and the check that a form was
//! posted from this site. Used by the web UI, the login pages and the API's
//! documentation page.

pub(crate) mod assets;

use crate::http::access::href;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::access;
use super::i18n::{self, tr};
use super::problem::Problem;

/// A page: the nav, the title, `body`; no script.
pub(crate) fn layout(title: &str, body: Markup) -> Html<String> {
    page(title, body, Script::None)
}

/// [`layout`] for a page whose content is still changing: it reloads itself every
/// 2 s (`/ui/static/app.js`, unless the user is filling in a form; without
/// JavaScript, a reload link says so).
pub(crate) fn live_layout(title: &str, body: Markup) -> Html<String> {
    page(title, body, Script::Live)
}

/// Whether a page loads `/ui/static/app.js`, and what for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    /// No script (most pages).
    None,
    /// For its "Back" links (`data-back`) only.
    Links,
    /// To reload itself while its work runs (`<body data-live>`).
    Live,
}

fn page(title: &str, body: Markup, script: Script) -> Html<String> {
    let live = script == Script::Live;
    let locale = i18n::locale();
    let here = i18n::here();
    Html(
        html! {
            (DOCTYPE)
            html lang=(locale.as_str()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · KCL" }
                    link rel="stylesheet" href=(assets::pico_url());
                    link rel="stylesheet" href=(assets::css_url());
                    @if script != Script::None {
                        script src=(assets::js_url()) defer {}
                    }
                }
                body data-live[live] {
                    nav {
                        a href=(href("/")) { (tr!("nav-catalog")) } a href=(href("/rentals")) { (tr!("nav-rentals")) } a href=(href("/jobs")) { (tr!("nav-jobs")) } a href=(href("/sales")) { (tr!("nav-sales")) } a href=(href("/audit")) { (tr!("nav-audit")) } a href=(href("/api/docs")) { (tr!("nav-api")) }
                        @if let Some(v) = access::viewer() {
                            span.muted { (v.name) " (" (v.role.map_or_else(|| tr!("nav-no-role"), |r| r.as_str().to_owned())) ") " }
                            @if v.csrf.is_some() {
                                form.inline method="post" action=(access::form_action("/logout")) { button type="submit" { (tr!("nav-log-out")) } }
                            }
                        } @else if access::enabled() {
                            a href=(href("/login")) { (tr!("nav-log-in")) }
                        }
                        // The other languages, each named in itself.
                        span.lang aria-label=(tr!("lang-switch-label")) {
                            @for other in kcl_core::domain::Locale::ALL.into_iter().filter(|l| *l != locale) {
                                a href=(href(&format!("/ui/lang/{other}?back={}", url_encode(&here))))
                                    hreflang=(other.as_str()) lang=(other.as_str()) rel="alternate" {
                                    (i18n::message_in(other, &format!("lang-switch-{other}"), &[]))
                                }
                            }
                        }
                    }
                    h1 { (title) }
                    (body)
                    @if live {
                        p.muted.live { (tr!("live-note")) " " a href="" { (tr!("live-reload")) } }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// Where an element (a `code`, a `strong`, a `time`) goes in a message: passed as
/// the value of the message's argument, then replaced by [`with_elements`].
pub(crate) const SLOT: &str = "\u{E000}";

/// A message whose arguments at [`SLOT`] are `elements` (in the order the
/// message has them), the text around them escaped as usual.
pub(crate) fn with_elements(text: &str, elements: &[Markup]) -> Markup {
    let mut pieces = text.split(SLOT);
    let first = pieces.next().unwrap_or_default();
    html! {
        (first)
        @for (element, piece) in elements.iter().zip(pieces) { (element) (piece) }
    }
}

/// `s` percent-encoded for a query value (letters, digits, `-_.~/` kept).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A problem as the pages show it: its detail, then each invalid field.
pub(crate) fn problem_box(p: &Problem) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { (p.detail) } }
            @if !p.errors.is_empty() {
                ul { @for e in &p.errors { li { (e.field) ": " (i18n::field_message(e)) } } }
            }
        }
    }
}

/// The status a page answers `p` with.
pub(crate) fn status_of(p: &Problem) -> StatusCode {
    StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST)
}

/// A refused form's page, with the problem's status: what is wrong, then `form`
/// (the form again as the user filled it in, and what follows it).
pub(crate) fn refused(p: &Problem, title: &str, form: Markup) -> Response {
    let body = html! { (problem_box(p)) (form) };
    (status_of(p), layout(title, body)).into_response()
}

/// A problem shown as a page, with its status code.
pub(crate) fn error_page(p: Problem) -> Response {
    let status = status_of(&p);
    let body = html! {
        (problem_box(&p))
        p { a href=(href("/")) data-back { (tr!("back")) } " · " a href=(href("/")) { (tr!("back-to-catalog")) } }
    };
    (status, page(&tr!("error-title"), body, Script::Links)).into_response()
}

/// The extractor `E`, whose problem (a bad query, path or form) is shown as an
/// [`error_page`] rather than sent as a problem document: the pages' extractors,
/// as in `OrPage(ApiQuery(q)): OrPage<ApiQuery<MyQuery>>`.
pub(crate) struct OrPage<E>(pub(crate) E);

impl<S: Send + Sync, E: FromRequestParts<S, Rejection = Problem>> FromRequestParts<S>
    for OrPage<E>
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        E::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(error_page)
    }
}

impl<S: Send + Sync, E: FromRequest<S, Rejection = Problem>> FromRequest<S> for OrPage<E> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        E::from_request(req, state)
            .await
            .map(Self)
            .map_err(error_page)
    }
}

/// The value of a `Result`, or (returned from the handler) its error as an
/// [`error_page`]: for a page's service calls and checks.
macro_rules! or_page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return $crate::http::page::error_page($crate::http::problem::Problem::from(e))
            }
        }
    };
}
pub(crate) use or_page;

/// Refuses form posts from other sites (cross-site request forgery): the browser's
/// `Sec-Fetch-Site` must not say `cross-site`, and an `Origin` must name this host.
pub(crate) async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::POST && !from_this_site(&req) {
        return error_page(Problem::new(
            StatusCode::FORBIDDEN,
            "cross-site-form",
            tr!("cross-site-form"),
        ));
    }
    next.run(req).await
}

fn from_this_site(req: &Request) -> bool {
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if h("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    match (h(header::ORIGIN.as_str()), h(header::HOST.as_str())) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}
