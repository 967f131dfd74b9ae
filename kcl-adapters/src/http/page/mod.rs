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
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
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
                        a href=(href("/")) { "Catalog" } a href=(href("/rentals")) { "Rentals" } a href=(href("/jobs")) { "OCR jobs" } a href=(href("/sales")) { "Sales" } a href=(href("/audit")) { "Audit" } a href=(href("/api/docs")) { "API" }
                        @if let Some(v) = access::viewer() {
                            span.muted { (v.name) " (" (v.role.map_or("no role", |r| r.as_str())) ") " }
                            @if v.csrf.is_some() {
                                form.inline method="post" action=(access::form_action("/logout")) { button type="submit" { "Log out" } }
                            }
                        } @else if access::enabled() {
                            a href=(href("/login")) { "Log in" }
                        }
                    }
                    h1 { (title) }
                    (body)
                    @if live {
                        p.muted.live { "This page updates itself while work is running. " a href="" { "Reload" } }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// A problem as the pages show it: its detail, then each invalid field.
pub(crate) fn problem_box(p: &Problem) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { (p.detail) } }
            @if !p.errors.is_empty() {
                ul { @for e in &p.errors { li { (e.field) ": " (e.message) } } }
            }
        }
    }
}

/// A problem shown as a page, with its status code.
pub(crate) fn error_page(p: Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = html! {
        (problem_box(&p))
        p { a href=(href("/")) data-back { "Back" } " · " a href=(href("/")) { "Catalog" } }
    };
    (status, page("Something is not right", body, Script::Links)).into_response()
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
            "this form was posted from another site",
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
