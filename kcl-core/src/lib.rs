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

pub mod context;
pub mod domain;
pub mod memory;
pub mod ports;
pub mod services;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use services::{ServiceError, Services};

/// A boxed error used as the `source` of `Unavailable` and `Internal` port errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
