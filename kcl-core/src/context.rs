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

/// `tokio::spawn`, keeping the current request id and client session (see
/// [`with_session`]) in the new task: what it writes is handed back to the client
/// if the request is still being answered.
pub fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let f = with_request_id(request_id(), f);
    match SESSION.try_with(std::sync::Arc::clone) {
        Ok(session) => tokio::spawn(SESSION.scope(session, f)),
        Err(_) => tokio::spawn(f),
    }
}

tokio::task_local! {
    static READ_POSITION: Option<crate::ports::LogPosition>;
    static SESSION: std::sync::Arc<SessionPositions>;
}

/// The log positions one client's request carries (see [`with_session`]): the last
/// write its session is known to have made, and the one this request makes.
struct SessionPositions {
    read_after: Option<crate::ports::LogPosition>,
    wrote: std::sync::Mutex<Option<crate::ports::LogPosition>>,
}

/// Runs `f`, a read that may be answered by a read replica that has replayed the
/// log at least up to `position` (`None`: only the primary may answer, what every
/// read outside such a scope gets). Services wrap the reads a replica may serve —
/// listings, searches, sales summaries and reports — in it; database adapters with
/// replicas read [`read_position`] to choose where to send them.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kcl_core::context::{read_position, with_read_position};
/// use kcl_core::ports::LogPosition;
/// assert_eq!(read_position(), None);
/// let seen = with_read_position(Some(LogPosition(7)), async { read_position() }).await;
/// assert_eq!(seen, Some(LogPosition(7)));
/// # });
/// ```
pub async fn with_read_position<F: Future>(
    position: Option<crate::ports::LogPosition>,
    f: F,
) -> F::Output {
    READ_POSITION.scope(position, f).await
}

/// The position a replica must have replayed to answer the current read, if a
/// replica may answer it at all (see [`with_read_position`]).
pub fn read_position() -> Option<crate::ports::LogPosition> {
    READ_POSITION.try_with(|p| *p).ok().flatten()
}

/// Runs `f`, a request of a client whose earlier writes reached log position
/// `read_after` (from its session cookie), and returns the position of the writes
/// `f` made, if any, for the host to hand back to the client. Reads in `f` that a
/// replica may answer wait for a replica at `read_after` or later: a client behind a
/// balancer always reads its own writes, whichever server answers.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kcl_core::context::{note_write, session_read_after, with_session};
/// use kcl_core::ports::LogPosition;
/// let (seen, wrote) = with_session(Some(LogPosition(3)), async {
///     note_write(LogPosition(9));
///     session_read_after()
/// })
/// .await;
/// assert_eq!((seen, wrote), (Some(LogPosition(3)), Some(LogPosition(9))));
/// # });
/// ```
pub async fn with_session<F: Future>(
    read_after: Option<crate::ports::LogPosition>,
    f: F,
) -> (F::Output, Option<crate::ports::LogPosition>) {
    let positions = std::sync::Arc::new(SessionPositions {
        read_after,
        wrote: std::sync::Mutex::new(None),
    });
    SESSION
        .scope(positions, async move {
            let out = f.await;
            let wrote = SESSION
                .try_with(|s| *s.wrote.lock().unwrap_or_else(|e| e.into_inner()))
                .ok()
                .flatten();
            (out, wrote)
        })
        .await
}

/// The log position the current client's earlier writes reached (see
/// [`with_session`]).
pub fn session_read_after() -> Option<crate::ports::LogPosition> {
    SESSION.try_with(|s| s.read_after).ok().flatten()
}

/// Records that the current request committed a change at or before `position`
/// (the journal calls it after every write; outside [`with_session`] it does
/// nothing).
pub fn note_write(position: crate::ports::LogPosition) {
    let _ = SESSION.try_with(|s| {
        let mut w = s.wrote.lock().unwrap_or_else(|e| e.into_inner());
        *w = (*w).max(Some(position));
    });
}
