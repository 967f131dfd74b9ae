//! Database errors: how they map onto the ports' errors, and retries on a busy file.

use std::future::Future;
use std::time::Duration;

use kcl_core::ports::StoreError;

/// How many times a write is retried when the database stays locked.
const RETRIES: u32 = 4;
/// The first pause before a retry; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY: u32 = 5;
const SQLITE_LOCKED: u32 = 6;
const SQLITE_NOMEM: u32 = 7;
const SQLITE_IOERR: u32 = 10;
const SQLITE_FULL: u32 = 13;
const SQLITE_CANTOPEN: u32 = 14;

/// The outcome of one attempt at a transaction: a database failure (maybe worth a
/// retry) or a verdict of the port (final).
#[derive(Debug)]
pub(crate) enum TxError<E> {
    /// The database failed.
    Db(sqlx::Error),
    /// The operation was refused (not found, conflict...).
    Port(E),
}

impl<E> From<sqlx::Error> for TxError<E> {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl<E: StoreError> TxError<E> {
    fn into_port(self) -> E {
        match self {
            Self::Db(e) => db_error(e),
            Self::Port(e) => e,
        }
    }
}

/// Maps a database failure onto a port error: `Unavailable` when retrying may help
/// (locked or busy file, I/O error, full disk, no free or a closed connection),
/// `Internal` otherwise.
pub(crate) fn db_error<E: StoreError>(e: sqlx::Error) -> E {
    if is_transient(&e) {
        E::unavailable(Box::new(e))
    } else {
        E::internal(Box::new(e))
    }
}

/// A stored value that cannot be decoded: the database holds something this code
/// never writes.
pub(crate) fn corrupt<E: StoreError>(what: impl std::fmt::Display) -> E {
    E::internal(format!("corrupt stored value: {what}").into())
}

/// Whether a statement broke a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

fn primary_code(e: &sqlx::Error) -> Option<u32> {
    let code = e.as_database_error()?.code()?;
    code.parse::<u32>().ok().map(|c| c & 0xff)
}

fn is_busy(e: &sqlx::Error) -> bool {
    matches!(primary_code(e), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(_) => matches!(
            primary_code(e),
            Some(
                SQLITE_BUSY
                    | SQLITE_LOCKED
                    | SQLITE_NOMEM
                    | SQLITE_IOERR
                    | SQLITE_FULL
                    | SQLITE_CANTOPEN
            )
        ),
        _ => false,
    }
}

/// Runs one attempt of a write (`op` starts and commits its own transaction),
/// again after a short pause while the database is busy or locked, and maps the
/// final failure onto the port's error.
pub(crate) async fn retry_busy<T, E, F, Fut>(mut op: F) -> Result<T, E>
where
    E: StoreError,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TxError<E>>>,
{
    let mut pause = FIRST_BACKOFF;
    for _ in 0..RETRIES {
        match op().await {
            Err(TxError::Db(e)) if is_busy(&e) => {
                tracing::debug!(error = %e, "database busy, retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other.map_err(TxError::into_port),
        }
    }
    op().await.map_err(TxError::into_port)
}
