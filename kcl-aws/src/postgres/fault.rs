//! Database errors: how they map onto the ports' errors, and retries of
//! transactions that lost a race.

use std::future::Future;
use std::time::Duration;

use kcl_core::ports::StoreError;

/// How many times a transaction is retried after a serialization failure, a
/// deadlock or a lost race.
const RETRIES: u32 = 4;
/// The first pause before a retry; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// The outcome of one attempt at a transaction.
#[derive(Debug)]
pub(super) enum TxError<E> {
    /// The database failed (retried when it is a serialization failure or deadlock).
    Db(sqlx::Error),
    /// The operation was refused (not found, conflict...): final.
    Port(E),
    /// A conditional write matched no row, but by the time the transaction looked
    /// why, nothing explained it (another transaction changed the row in between):
    /// worth another attempt.
    Raced,
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
            Self::Raced => E::internal("a conditional write kept losing races".into()),
        }
    }
}

/// The SQLSTATE of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    Some(e.as_database_error()?.code()?.into_owned())
}

/// Maps a database failure onto a port error: `Unavailable` when retrying may help
/// (no connection, a closed pool, I/O, the server shutting down or out of
/// resources, a read-only server during a fail-over, a statement timeout, a
/// serialization failure or deadlock that outlived the retries, a lock wait over
/// `lock_timeout`), `InvalidInput` for a user value the database cannot hold
/// (untranslatable or out-of-range values, a key too long for an index),
/// `Internal` otherwise.
pub(super) fn db_error<E: StoreError>(e: sqlx::Error) -> E {
    if is_transient(&e) {
        return E::unavailable(Box::new(e));
    }
    match sqlstate(&e) {
        // 22P05 untranslatable character, 22021 bad encoding, 22008 date out of
        // range, 22003 number out of range, 54000 index row too large (a very long
        // folded title). Other class-22 errors come from KCL's own SQL: Internal.
        Some(code)
            if matches!(
                code.as_str(),
                "22P05" | "22021" | "22008" | "22003" | "54000"
            ) =>
        {
            let message = e
                .as_database_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            E::invalid_input(format!("value not storable in PostgreSQL: {message}"))
        }
        _ => E::internal(Box::new(e)),
    }
}

/// A stored value that cannot be decoded: the database holds something this code
/// never writes.
pub(super) fn corrupt<E: StoreError>(what: impl std::fmt::Display) -> E {
    E::internal(format!("corrupt stored value: {what}").into())
}

/// The name of the constraint a statement broke, if it broke a UNIQUE or PRIMARY
/// KEY constraint.
pub(super) fn unique_violation(e: &sqlx::Error) -> Option<String> {
    let d = e.as_database_error()?;
    (d.kind() == sqlx::error::ErrorKind::UniqueViolation)
        .then(|| d.constraint().unwrap_or_default().to_owned())
}

/// Serialization failure or deadlock: the transaction was rolled back and can run again.
fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(sqlstate(e).as_deref(), Some("40001" | "40P01"))
}

fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => sqlstate(e).is_some_and(|code| {
            code.starts_with("08") // connection exception
                || code.starts_with("53") // insufficient resources
                || matches!(
                    code.as_str(),
                    "40001" | "40P01" // serialization failure, deadlock (after retries)
                        | "57P01" | "57P02" | "57P03" // shutting down, cannot connect now
                        | "57014" // statement timeout / cancelled
                        | "55P03" // lock not available (lock_timeout)
                        | "25006" // read-only transaction (a fail-over in progress)
                )
        }),
        _ => false,
    }
}

/// Runs one attempt of a transaction (`op` begins and commits its own), again after
/// a short pause when it hit a serialization failure, a deadlock or a lost race, and
/// maps the final failure onto the port's error.
pub(super) async fn retry<T, E, F, Fut>(mut op: F) -> Result<T, E>
where
    E: StoreError,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TxError<E>>>,
{
    let mut pause = FIRST_BACKOFF;
    for _ in 0..RETRIES {
        match op().await {
            Err(TxError::Db(e)) if is_retryable(&e) => {
                tracing::debug!(error = %e, "transaction conflict, retrying");
            }
            Err(TxError::Raced) => tracing::debug!("conditional write raced, retrying"),
            other => return other.map_err(TxError::into_port),
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    op().await.map_err(TxError::into_port)
}
