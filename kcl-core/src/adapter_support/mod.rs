//! Code the adapters share, mostly the SQL ones (SQLite in `kcl-local`,
//! PostgreSQL in `kcl-aws`), without this crate knowing their driver: what
//! touches a driver error is generic over its type `D`. Port contracts and domain
//! rules stay in `ports/` and `domain/`; this is the plumbing and the protocols
//! several adapters would otherwise each write again.
//!
//! - [`TxError`] and [`TxPolicy::retry`]: one attempt at a transaction, and the loop
//!   that runs it again while the driver says a new attempt may succeed. Each
//!   adapter keeps only its classification of the driver's errors (a [`TxPolicy`]
//!   constant in its `fault.rs`).
//! - [`corrupt`]: the error of a stored value the adapter cannot decode; how
//!   both store times ([`micros`], [`time`]), durations ([`duration_micros`]) and
//!   counts ([`unsigned`]) as 64-bit integers.
//! - [`book_write_refusal`]: why a conditional write of a book changed nothing.
//! - [`start_item`]: the [`JobRepo::start_item`](crate::ports::JobRepo::start_item)
//!   protocol over a conditional update and a look at the item.
//! - [`long_poll`]: a [`TaskQueue::receive`](crate::ports::TaskQueue::receive) that
//!   waits for messages (the in-memory and the SQL queues).
//! - [`check_within`]: a [`HealthProbe::check`](crate::ports::HealthProbe::check)
//!   with a deadline.
//! - [`Kept`]: connections taken from a pool once and lent to one kind of query
//!   after that, so that they skip the pool's test on every return.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;

mod kept;

pub use kept::{Kept, Lent};

use crate::domain::{BookId, ItemId, JobId, JobItem};
use crate::ports::{BookRepoError, Delivery, ItemStart, JobRepoError, QueueError, StoreError};

/// What a driver error means for the port: the adapter's classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Retrying later may succeed (no connection, a busy database...).
    Unavailable,
    /// The request holds a value the database cannot store; the message says which.
    InvalidInput(String),
    /// Anything else.
    Internal,
}

/// The outcome of one attempt at a transaction that failed; `D` is the driver's
/// error (`?` on one gives [`TxError::Db`]).
#[derive(Debug)]
pub enum TxError<E, D> {
    /// The database failed (retried when the policy says it is worth it).
    Db(D),
    /// The operation was refused (not found, conflict...): final.
    Port(E),
    /// A conditional write matched no row, but by the time the transaction looked
    /// why, nothing explained it (another transaction changed the row in between):
    /// worth another attempt.
    Raced,
}

impl<E, D> From<D> for TxError<E, D> {
    fn from(e: D) -> Self {
        Self::Db(e)
    }
}

/// How an adapter retries its transactions and maps its driver's errors onto the
/// ports' errors.
#[derive(Debug)]
pub struct TxPolicy<D> {
    /// How many times an attempt is retried (so at most `retries + 1` attempts).
    pub retries: u32,
    /// The first pause before a retry; it doubles each time.
    pub first_backoff: Duration,
    /// The log line of a retry after a retryable driver error.
    pub retry_note: &'static str,
    /// Whether a failed attempt rolled back and may succeed when run again (a
    /// serialization failure, a busy file...).
    pub is_retryable: fn(&D) -> bool,
    /// What a driver error means for the port.
    pub fault: fn(&D) -> Fault,
}

impl<D> TxPolicy<D>
where
    D: std::error::Error + Send + Sync + 'static,
{
    /// Maps a driver failure onto a port error, by [`fault`](Self::fault).
    pub fn port_error<E: StoreError>(&self, e: D) -> E {
        match (self.fault)(&e) {
            Fault::Unavailable => E::unavailable(Box::new(e)),
            Fault::InvalidInput(message) => E::invalid_input(message),
            Fault::Internal => E::internal(Box::new(e)),
        }
    }

    fn final_error<E: StoreError>(&self, e: TxError<E, D>) -> E {
        match e {
            TxError::Db(e) => self.port_error(e),
            TxError::Port(e) => e,
            TxError::Raced => E::internal("a conditional write kept losing races".into()),
        }
    }

    /// Runs one attempt of a transaction (`op` begins and commits its own), again
    /// after a short pause when it failed in a [retryable](Self::is_retryable) way
    /// or [raced](TxError::Raced), and maps the final failure onto the port's error.
    pub async fn retry<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        E: StoreError,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TxError<E, D>>>,
    {
        let mut pause = self.first_backoff;
        for _ in 0..self.retries {
            match op().await {
                Err(TxError::Db(e)) if (self.is_retryable)(&e) => {
                    tracing::debug!(error = %e, "{}", self.retry_note);
                }
                Err(TxError::Raced) => tracing::debug!("conditional write raced, retrying"),
                other => return other.map_err(|e| self.final_error(e)),
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        op().await.map_err(|e| self.final_error(e))
    }
}

/// A time as stored: microseconds since the Unix epoch.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time (microseconds since the Unix epoch).
pub fn time<E: StoreError>(v: i64) -> Result<DateTime<Utc>, E> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(format!("time {v}")))
}

/// Microseconds in a duration, saturating.
pub fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A stored non-negative count or version.
pub fn unsigned<T: TryFrom<i64>, E: StoreError>(v: i64) -> Result<T, E> {
    T::try_from(v).map_err(|_| corrupt(format!("count {v}")))
}

/// A health check of `backend` (its name in the failure) that must answer
/// within `timeout`.
pub async fn check_within<T, D: Display>(
    backend: &str,
    timeout: Duration,
    check: impl Future<Output = Result<T, D>>,
) -> Result<(), String> {
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{backend}: {e}")),
        Err(_) => Err(format!("{backend} did not answer within {timeout:?}")),
    }
}

/// A stored value that cannot be decoded: the database holds something the
/// adapter never writes.
pub fn corrupt<E: StoreError>(what: impl Display) -> E {
    E::internal(format!("corrupt stored value: {what}").into())
}

/// Why a write of book `id` conditioned on its version (when `expected` is given)
/// and on at most `max_rented` copies out matched no row, from the book as stored
/// now (`found`: its version and copies out, `None` when it is gone), checked in
/// the reference order: missing, stale version, copies out. `None` when nothing
/// explains it (the row changed in between).
pub fn book_write_refusal(
    id: BookId,
    found: Option<(u64, u32)>,
    expected: Option<u64>,
    max_rented: u32,
) -> Option<BookRepoError> {
    let Some((version, rented)) = found else {
        return Some(BookRepoError::NotFound(id));
    };
    match expected {
        Some(expected) if expected != version => Some(BookRepoError::VersionConflict {
            id,
            expected,
            actual: version,
        }),
        _ if rented > max_rented => Some(BookRepoError::Rented { id, rented }),
        _ => None,
    }
}

/// [`JobRepo::start_item`](crate::ports::JobRepo::start_item) over two statements:
/// `start` is the conditional update (the item now PROCESSING, or `None` when it
/// changed nothing), `look` reads the item to tell why. The job may be recorded
/// between the two (its tasks are queued before it is recorded): an item found
/// unfinished then is started again, never taken for final.
pub async fn start_item<S, SF, L, LF>(
    job: JobId,
    item: ItemId,
    mut start: S,
    mut look: L,
) -> Result<ItemStart, JobRepoError>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<Option<JobItem>, JobRepoError>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<JobItem>, JobRepoError>>,
{
    for _ in 0..3 {
        if let Some(started) = start().await? {
            return Ok(ItemStart::Started(started));
        }
        match look().await? {
            None => return Ok(ItemStart::Gone),
            Some(found) if found.status.is_final() => return Ok(ItemStart::Final(found)),
            Some(_) => {}
        }
    }
    Err(JobRepoError::Internal(
        format!("item {item} of job {job} kept changing while it was started").into(),
    ))
}

/// A receive that waits up to `wait` for messages. `take` takes what is visible
/// now, and says when another look is worth it even without a send (a hidden
/// message becomes visible, a poll for other processes' sends); between looks
/// the receive sleeps until then, the end of `wait`, or a wake-up on `arrived`
/// (registered before each look, so a send in between is not missed).
pub async fn long_poll<F, Fut>(
    arrived: &Notify,
    wait: Duration,
    mut take: F,
) -> Result<Vec<Delivery>, QueueError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(Vec<Delivery>, Option<Instant>), QueueError>>,
{
    let deadline = Instant::now() + wait;
    loop {
        let notified = arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (taken, next_look) = take().await?;
        if !taken.is_empty() || Instant::now() >= deadline {
            return Ok(taken);
        }
        let wake = next_look.map_or(deadline, |at| at.min(deadline));
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_micros(Duration::from_millis(1500)), 1_500_000);
        assert_eq!(duration_micros(Duration::MAX), i64::MAX);
    }
}
