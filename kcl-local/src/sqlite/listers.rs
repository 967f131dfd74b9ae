//! Read connections kept for listings, out of the pool's hands between uses.
//!
//! sqlx tests every connection as it goes back to its pool (a ping, which for SQLite
//! is a round trip to the connection's worker thread, as dear as a small query), and
//! no pool setting turns that off. An uncached listing is one query, so that ping was
//! a third of its database work. A listing instead borrows one of at most
//! [`HELD`] connections taken from the read pool and kept
//! ([`Kept`](kcl_core::adapter_support::Kept)): it comes back without a test. A
//! connection to a local file does not go stale; one whose query failed goes back to
//! the pool, which tests it as usual.
//!
//! The held connections still count in the read pool's size, so the pool keeps at
//! least `READERS - HELD` connections for every other read. `Kept::close` hands
//! them back before the pool closes (closing waits for every connection).

use std::time::Duration;

use kcl_core::adapter_support::{Kept, Lent};
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};

use super::{ACQUIRE_TIMEOUT, READERS};

/// Connections kept for listings on a store KCL opened: half its read pool.
pub(crate) const HELD: u32 = READERS / 2;

/// The read connections kept for listings.
pub(crate) type Listers = Kept<PoolConnection<Sqlite>>;

/// Keeps up to `held` connections of `read` (fewer when the pool is small: it always
/// keeps one for other reads). `0` lends pooled connections as usual (a host's
/// pools, [`SqliteStore::from_pools`](super::SqliteStore::from_pools): a host does
/// not expect KCL to keep its connections).
pub(crate) fn listers(read: &SqlitePool, held: u32) -> Listers {
    let max = read.options().get_max_connections();
    let held = held.min(max.saturating_sub(1)) as usize;
    // A connection to a local file goes stale neither idle nor old.
    Kept::new(held, Duration::MAX, Duration::MAX).with_detach(|c| drop(c.detach()))
}

/// A connection of `read` for one listing: call [`Lent::done`] once its query ran.
pub(crate) async fn lister<'a>(
    listers: &'a Listers,
    read: &SqlitePool,
) -> Result<Lent<'a, PoolConnection<Sqlite>>, sqlx::Error> {
    let timed_out = || sqlx::Error::PoolTimedOut;
    listers
        .get(ACQUIRE_TIMEOUT, read.acquire(), timed_out)
        .await
}
