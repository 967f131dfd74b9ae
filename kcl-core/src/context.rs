//! The request a piece of work belongs to: the HTTP host sets a request id for each
//! request, services stamp it on the tasks they queue (`"request_id"`), and the
//! worker logs each task under it, so one id follows an upload from the request to
//! its thumbnail or OCR text.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use kcl_core::context::{request_id, with_request_id};
//! assert_eq!(request_id(), None);
//! let seen = with_request_id(Some("req-1".into()), async { request_id() }).await;
//! assert_eq!(seen.as_deref(), Some("req-1"));
//! # });
//! ```

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: Option<String>;
}

/// The id of the request being handled, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok().flatten()
}

/// Runs `f` as part of request `id`.
pub async fn with_request_id<F: Future>(id: Option<String>, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// `tokio::spawn`, keeping the current request id in the new task.
pub fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(with_request_id(request_id(), f))
}
