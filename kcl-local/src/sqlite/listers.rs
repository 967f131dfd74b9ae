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
//! least `READERS - HELD` connections for every other read. [`Listers::close`]
//! hands them back before the pool closes (closing waits for every connection).

use std::time::Duration;

use kcl_core::adapter_support::{Kept, KeptError, Lent};
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};

use super::{ACQUIRE_TIMEOUT, READERS};

/// Connections kept for listings on a store KCL opened: half its read pool.
pub(crate) const HELD: u32 = READERS / 2;

/// The read connections kept for listings.
pub(crate) struct Listers(Kept<PoolConnection<Sqlite>>);

/// A connection lent to one listing: call [`Lent::done`] once its query ran.
pub(crate) type Lister<'a> = Lent<'a, PoolConnection<Sqlite>>;

impl Listers {
    /// Keeps up to `held` connections of `read` (fewer when the pool is small: it
    /// always keeps one for other reads). `0` lends pooled connections as usual
    /// (a host's pools, [`SqliteStore::from_pools`](super::SqliteStore::from_pools):
    /// a host does not expect KCL to keep its connections).
    pub(crate) fn new(read: &SqlitePool, held: u32) -> Self {
        let max = read.options().get_max_connections();
        let held = held.min(max.saturating_sub(1)) as usize;
        // A connection to a local file goes stale neither idle nor old.
        Self(Kept::new(held, Duration::MAX, Duration::MAX))
    }

    /// A connection for one listing.
    pub(crate) async fn get(&self, read: &SqlitePool) -> Result<Lister<'_>, sqlx::Error> {
        self.0
            .get(ACQUIRE_TIMEOUT, read.acquire())
            .await
            .map_err(|e| match e {
                KeptError::TimedOut => sqlx::Error::PoolTimedOut,
                KeptError::Acquire(e) => e,
            })
    }

    /// Hands every kept connection back to the pool, and every one in use when its
    /// listing ends: call before closing the pool.
    pub(crate) fn close(&self) {
        self.0.close();
    }
}

impl Drop for Listers {
    /// sqlx gives a dropped pooled connection back to its pool on a Tokio task, and
    /// panics where there is no runtime: a store dropped outside one (after its
    /// runtime ended) closes its kept connections instead, giving their places in
    /// the pool back.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            for conn in self.0.take_idle() {
                drop(conn.detach());
            }
        }
    }
}
