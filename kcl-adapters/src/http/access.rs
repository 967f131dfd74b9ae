//! Who may call a route ([`Access`], [`Role`]) and who is calling ([`Viewer`]): the
//! words the routes, the authentication and the pages share.

use serde::{Deserialize, Serialize};

/// A role. Ordered: `Admin` > `Staff` > `Reader`; a role can do what the lower ones can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the catalog, rentals and OCR jobs.
    Reader,
    /// Also rents and returns copies and uploads covers.
    Staff,
    /// Everything: the catalog, OCR jobs, sales, stock, reports, the audit log.
    Admin,
}

impl Role {
    /// `admin`, `staff` or `reader` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            "reader" => Some(Self::Reader),
            _ => None,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Reader => "reader",
        }
    }
}

/// How a route may be reached: every route is registered with one (see
/// [`crate::http::route_rules`] for the whole table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// By anyone, without looking at who is calling (health checks, metrics, the
    /// OpenAPI document, the token route, the pages' style sheet and script).
    Public,
    /// By anyone, and a caller who sends a session or a token is identified (the
    /// login page shows who is logged in; a form posted with a session needs its
    /// CSRF token).
    Open,
    /// By readers, or by anyone when reads are public.
    Read,
    /// By this role or a higher one.
    Role(Role),
}

impl From<Role> for Access {
    fn from(r: Role) -> Self {
        Self::Role(r)
    }
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) name: String,
    pub(crate) role: Option<Role>,
    /// The session's CSRF token (cookie sessions only).
    pub(crate) csrf: Option<String>,
}

tokio::task_local! {
    static VIEWER: Option<Viewer>;
}

/// Runs `fut` (the rest of a request) with `viewer` as its caller.
pub(crate) async fn with_viewer<F: std::future::Future>(
    viewer: Option<Viewer>,
    fut: F,
) -> F::Output {
    VIEWER.scope(viewer, fut).await
}

/// The caller of the request being handled, when authenticated.
pub(crate) fn viewer() -> Option<Viewer> {
    VIEWER.try_with(|v| v.clone()).ok().flatten()
}

/// Whether the request being handled went through authentication (the server has
/// it on), logged in or not.
pub(crate) fn enabled() -> bool {
    VIEWER.try_with(|_| ()).is_ok()
}

/// `url` (one of KCL's paths) with the session's CSRF token in its query, for a
/// form's `action`, under the base path (see [`href`]).
pub(crate) fn form_action(url: &str) -> String {
    let url = href(url);
    match viewer().and_then(|v| v.csrf) {
        Some(t) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}csrf={t}")
        }
        None => url,
    }
}

tokio::task_local! {
    static BASE: std::sync::Arc<str>;
}

/// Runs `fut` (the rest of a request) with `base` as the path KCL's router is
/// served under ([`HttpOptions::base_path`](crate::http::HttpOptions::base_path)).
pub(crate) async fn with_base<F: std::future::Future>(
    base: std::sync::Arc<str>,
    fut: F,
) -> F::Output {
    BASE.scope(base, fut).await
}

/// One of KCL's own paths (`/books/1`) as a browser must ask for it: under the
/// base path the router is served at (`/library/books/1`), for links, form actions
/// and redirects. The root is the base path itself (`/library`): a router nested
/// at `/library` answers there, not at `/library/`.
pub(crate) fn href(path: &str) -> String {
    BASE.try_with(|base| match path.strip_prefix('/') {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("{base}{rest}"),
        _ => format!("{base}{path}"),
    })
    .unwrap_or_else(|_| path.to_owned())
}

/// A path a browser sent (a `Referer`'s), as one of KCL's own: without the base
/// path when it starts with it.
pub(crate) fn unbase(path: &str) -> &str {
    BASE.try_with(|base| {
        path.strip_prefix(&**base)
            .filter(|rest| rest.starts_with('/'))
            .map(|rest| rest.len())
    })
    .ok()
    .flatten()
    .map_or(path, |n| &path[path.len() - n..])
}
