//! # kcl-adapters
//!
//! Hosts that serve KCL's services: the axum HTTP server (REST API under `/api`,
//! health checks and a server-rendered web UI, feature `http`), the queue worker
//! (feature `worker`) and Lambda handlers for SQS events (feature `lambda`).
//!
//! Hosts receive ready [`kcl_core::Services`]; they never know which adapters
//! (SQLite, AWS, memory) sit behind them. The composition root in the `kcl` crate
//! builds the services from configuration.
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "lambda")]
mod emf;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub mod lambda;
#[cfg(feature = "worker")]
#[cfg_attr(docsrs, doc(cfg(feature = "worker")))]
pub mod worker;

/// The third-party crates whose types this crate's API names (`axum::Router`, the
/// Prometheus handle, the OpenAPI document), at the versions it is built with:
/// use these, and your types are KCL's (see `docs/architecture.md`).
pub mod deps {
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub use axum;
    #[cfg(feature = "lambda")]
    #[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
    pub use lambda_http;
    #[cfg(feature = "lambda")]
    #[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
    pub use lambda_runtime;
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub use metrics_exporter_prometheus;
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub use utoipa;
}
