//! Database errors: how they map onto the ports' errors, and retries on a busy file.

use std::time::Duration;

pub(crate) use kcl_core::adapter_support::corrupt;
use kcl_core::adapter_support::{Fault, TxPolicy};
use kcl_core::ports::StoreError;

/// Writes are retried (4 times, after 20 ms, 40 ms...) while the database stays
/// busy or locked.
pub(crate) const TX: TxPolicy<sqlx::Error> = TxPolicy {
    retries: 4,
    first_backoff: Duration::from_millis(20),
    retry_note: "database busy, retrying",
    is_retryable: is_busy,
    fault,
};

/// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY: u32 = 5;
const SQLITE_LOCKED: u32 = 6;
const SQLITE_NOMEM: u32 = 7;
const SQLITE_IOERR: u32 = 10;
const SQLITE_FULL: u32 = 13;
const SQLITE_CANTOPEN: u32 = 14;

/// The outcome of one attempt at a transaction: a database failure (maybe worth a
/// retry) or a verdict of the port (final).
pub(crate) type TxError<E> = kcl_core::adapter_support::TxError<E, sqlx::Error>;

/// Maps a database failure onto a port error (see [`fault`]).
pub(crate) fn db_error<E: StoreError>(e: sqlx::Error) -> E {
    TX.port_error(e)
}

/// What a database failure means: `Unavailable` when retrying may help (locked or
/// busy file, I/O error, full disk, no free or a closed connection), `Internal`
/// otherwise.
fn fault(e: &sqlx::Error) -> Fault {
    if is_transient(e) {
        Fault::Unavailable
    } else {
        Fault::Internal
    }
}

/// Whether a statement broke a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// A statement's result, with a broken UNIQUE or PRIMARY KEY constraint turned
/// into the port's refusal `taken`.
pub(crate) fn refuse_duplicate<T, E>(
    result: Result<T, sqlx::Error>,
    taken: impl FnOnce() -> E,
) -> Result<T, TxError<E>> {
    result.map_err(|e| {
        if is_unique_violation(&e) {
            TxError::Port(taken())
        } else {
            TxError::Db(e)
        }
    })
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
