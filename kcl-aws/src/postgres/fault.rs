//! Database errors: how they map onto the ports' errors, and retries of
//! transactions that lost a race.

use std::time::Duration;

pub(super) use kcl_core::adapter_support::corrupt;
use kcl_core::adapter_support::{Fault, TxPolicy};
use kcl_core::ports::StoreError;

/// Transactions are retried (4 times, after 10 ms, 20 ms...) after a
/// serialization failure, a deadlock or a lost race.
pub(super) const TX: TxPolicy<sqlx::Error> = TxPolicy {
    retries: 4,
    first_backoff: Duration::from_millis(10),
    retry_note: "transaction conflict, retrying",
    is_retryable,
    fault,
};

/// The outcome of one attempt at a transaction.
pub(super) type TxError<E> = kcl_core::adapter_support::TxError<E, sqlx::Error>;

/// The SQLSTATE of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    Some(e.as_database_error()?.code()?.into_owned())
}

/// Maps a database failure onto a port error (see [`fault`]).
pub(super) fn db_error<E: StoreError>(e: sqlx::Error) -> E {
    TX.port_error(e)
}

/// What a database failure means: `Unavailable` when retrying may help (no
/// connection, a closed pool, I/O, the server shutting down or out of resources, a
/// read-only server during a fail-over, a statement timeout, a serialization
/// failure or deadlock that outlived the retries, a lock wait over `lock_timeout`),
/// `InvalidInput` for a user value the database cannot hold (untranslatable or
/// out-of-range values, a key too long for an index), `Internal` otherwise.
fn fault(e: &sqlx::Error) -> Fault {
    if is_transient(e) {
        return Fault::Unavailable;
    }
    match sqlstate(e) {
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
            Fault::InvalidInput(format!("value not storable in PostgreSQL: {message}"))
        }
        _ => Fault::Internal,
    }
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
