//! The route table: every route is registered with its [`Access`] rule and its
//! [`Load`] (a plain request, an upload, a health check), so no route can be added
//! without saying who may call it, and the upload limits (body size, deadline,
//! minimum rate, upload slot) follow from the route rather than from a list of
//! paths kept beside the router.
//!
//! [`Routes`] only records; [`super::router_with`] turns each entry into an axum
//! route wrapped in its checks, in this order: authentication and the access rule,
//! then a request slot (and an upload slot), then the deadline, then the handler
//! (with the route's body limit).

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use kcl_core::Services;
use std::sync::Arc;

use super::access::Access;
use super::page::same_origin;

/// What a route costs the server, which decides the slots, deadline and body rate
/// it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// A request: a request slot, [`super::REQUEST_TIMEOUT`].
    Request,
    /// An upload: a request slot and an upload slot, [`super::UPLOAD_TIMEOUT`], and
    /// the minimum body rate of [`super::HttpOptions::upload_min_rate`].
    Upload,
    /// The readiness check: no slot, but `503` while every request slot is taken.
    Readiness,
    /// The liveness check: no slot.
    Liveness,
}

/// The largest body an upload route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLimit {
    /// At most this many bytes.
    Bytes(usize),
    /// No limit here: the handler streams the body and counts it itself.
    Handler,
}

impl BodyLimit {
    /// A multipart form carrying at most `limit` bytes of files: the limit and
    /// room for the form's framing.
    pub(crate) fn multipart(limit: u64) -> Self {
        Self::Bytes(limit as usize + super::forms::MULTIPART_OVERHEAD)
    }
}

/// One route of the application and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// The method (`GET` routes also answer `HEAD`).
    pub method: Method,
    /// The path, as axum matches it (`/api/books/{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Whether it is an upload (its own body limit, upload slots, the upload
    /// deadline and minimum rate).
    pub upload: bool,
}

/// A route's rule as the checks around it need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) access: Access,
    pub(crate) load: Load,
}

struct Entry {
    path: &'static str,
    method: Method,
    rule: Rule,
    endpoint: MethodRouter<Arc<Services>>,
}

/// Routes being registered, each with its rule.
#[derive(Default)]
#[must_use]
pub(crate) struct Routes {
    entries: Vec<Entry>,
}

macro_rules! method {
    ($name:ident, $method:ident, $filter:ident) => {
        #[doc = concat!("`", stringify!($method), " path`, for callers `access` allows.")]
        pub(crate) fn $name<H, T>(self, path: &'static str, access: impl Into<Access>, h: H) -> Self
        where
            H: Handler<T, Arc<Services>>,
            T: 'static,
        {
            self.endpoint(
                path,
                Method::$method,
                access.into(),
                Load::Request,
                axum::routing::on(MethodFilter::$filter, h),
            )
        }
    };
}

impl Routes {
    /// No routes yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    method!(get, GET, GET);
    method!(post, POST, POST);
    method!(put, PUT, PUT);
    method!(patch, PATCH, PATCH);
    method!(delete, DELETE, DELETE);

    /// `POST path`, an upload whose body may reach `limit`, for callers `access`
    /// allows.
    pub(crate) fn upload<H, T>(
        self,
        path: &'static str,
        access: impl Into<Access>,
        limit: BodyLimit,
        h: H,
    ) -> Self
    where
        H: Handler<T, Arc<Services>>,
        T: 'static,
    {
        let body = match limit {
            BodyLimit::Bytes(n) => DefaultBodyLimit::max(n),
            BodyLimit::Handler => DefaultBodyLimit::disable(),
        };
        let endpoint = axum::routing::post(h).layer(body);
        self.endpoint(path, Method::POST, access.into(), Load::Upload, endpoint)
    }

    /// `GET path`, a health check anyone may call (`load` is [`Load::Readiness`]
    /// or [`Load::Liveness`]).
    pub(crate) fn health<H, T>(self, path: &'static str, load: Load, h: H) -> Self
    where
        H: Handler<T, Arc<Services>>,
        T: 'static,
    {
        let endpoint = axum::routing::get(h);
        self.endpoint(path, Method::GET, Access::Public, load, endpoint)
    }

    /// `method path` served by `endpoint`, which must answer `method` only.
    pub(crate) fn endpoint(
        mut self,
        path: &'static str,
        method: Method,
        access: Access,
        load: Load,
        endpoint: MethodRouter<Arc<Services>>,
    ) -> Self {
        self.entries.push(Entry {
            path,
            method,
            rule: Rule { access, load },
            endpoint,
        });
        self
    }

    /// These routes and `other`'s.
    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.entries.extend(other.entries);
        self
    }

    /// Every route registered so far refuses cross-site form posts
    /// ([`same_origin`], inside the checks the rule brings, which
    /// [`Self::into_router`] adds).
    pub(crate) fn same_origin(mut self) -> Self {
        for e in &mut self.entries {
            e.endpoint = std::mem::take(&mut e.endpoint).route_layer(from_fn(same_origin));
        }
        self
    }

    /// The table: every route with its rule, in registration order.
    pub(crate) fn rules(&self) -> Vec<RouteRule> {
        self.entries
            .iter()
            .map(|e| RouteRule {
                method: e.method.clone(),
                path: e.path,
                access: e.rule.access,
                upload: e.rule.load == Load::Upload,
            })
            .collect()
    }

    /// The axum router: each route wrapped by `guard` in the checks of its rule.
    pub(crate) fn into_router(
        self,
        guard: impl Fn(Rule, MethodRouter<Arc<Services>>) -> MethodRouter<Arc<Services>>,
    ) -> Router<Arc<Services>> {
        self.entries.into_iter().fold(Router::new(), |app, e| {
            app.route(e.path, guard(e.rule, e.endpoint))
        })
    }
}
