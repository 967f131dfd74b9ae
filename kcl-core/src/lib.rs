//! # kcl-core
//!
//! The domain of KCL: validated types, the ports (traits) every adapter implements,
//! the services that hold the business rules, in-memory adapters for every port and,
//! behind the `testkit` feature, the conformance kits that prove an adapter honours
//! its port's contract.
//!
//! The crate knows no database, no cloud SDK and no web framework. Adapters live in
//! `kcl-local` (SQLite, files) and `kcl-aws`; hosts live in `kcl-adapters`.
//!
//! The services run on a Tokio runtime with its time driver on (`#[tokio::main]`,
//! or a `Builder` with `enable_all()` or `enable_time()`): writes bound how long
//! they wait for the audit log, health checks how long they wait for a probe.
//!
//! ```
//! # tokio_test_block_on(async {
//! use kcl_core::{memory::MemoryBackend, domain::BookDraft};
//!
//! let kcl = MemoryBackend::new().services();
//! let draft = BookDraft::builder("Dom Casmurro", "Machado de Assis", "9788535910667")
//!     .category("Romance").year(1899).price_cents(3990).copies(2)
//!     .build().unwrap();
//! let book = kcl.catalog.create(draft).await.unwrap();
//! let rental = kcl.rentals.rent(book.id, "ana", None).await.unwrap();
//! assert_eq!(kcl.catalog.get(book.id).await.unwrap().available(), 1);
//! kcl.rentals.return_rental(rental.id).await.unwrap();
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! ## Feature flags
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter_support;
pub mod context;
#[cfg(feature = "crash-points")]
#[cfg_attr(docsrs, doc(cfg(feature = "crash-points")))]
pub mod crash;
pub mod domain;
pub mod memory;
pub mod ports;
pub mod services;
#[cfg(any(test, feature = "testkit"))]
#[cfg_attr(docsrs, doc(cfg(any(test, feature = "testkit"))))]
pub mod testkit;

pub use services::{ServiceError, Services};

/// A boxed error used as the `source` of `Unavailable` and `Internal` port errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Marks a deterministic crash point: `kcl_core::crash_point!("sales.publish.committed");`.
///
/// Compiled to nothing unless kcl-core's feature `crash-points` is on (the facade
/// `kcl` forwards a feature of the same name). With it, the process aborts here when
/// `KCL_CRASH_AT` is the point's name (the first time it is reached) or `name@N`
/// (the Nth time): fault tests crash a real server or worker at the exact step they
/// mean to, then check what a restart finds. See [`crash`](crate::crash) (with the
/// feature) and `docs/operations.md`.
#[cfg(feature = "crash-points")]
#[macro_export]
macro_rules! crash_point {
    ($name:literal) => {
        $crate::crash::reached($name)
    };
}

/// Marks a deterministic crash point (see the `crash-points` feature); without the
/// feature, nothing.
#[cfg(not(feature = "crash-points"))]
#[macro_export]
macro_rules! crash_point {
    ($name:literal) => {};
}
