//! Connections of the primary's pool kept for listings, out of the pool's hands
//! between uses.
//!
//! sqlx pings every connection as it goes back to its pool (a round trip to the
//! server), and no pool setting turns that off: for an uncached listing, one query,
//! that ping was a second round trip. A listing on the primary borrows one of at most
//! half the pool's connections, taken from it once and kept
//! ([`Kept`](kcl_core::adapter_support::Kept)); with all of them lent, listings
//! wait their turn, so at most half the pool lists at once and the other half is
//! left to every other query. A kept connection goes back to the pool, and through
//! its checks, when its query failed or was abandoned, when it sat idle for
//! [`PING_IF_IDLE_FOR`] (the pool then pings it before the next use, as it does its
//! own), and a minute after it was taken (so the pool's maximum lifetime still
//! reaches it). Read replicas' pools keep none. [`Listers::close`] hands them back
//! before the pool closes (closing waits for every connection).

use std::time::Duration;

use kcl_core::adapter_support::{Kept, KeptError, Lent};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::{ACQUIRE_TIMEOUT, PING_IF_IDLE_FOR};

/// How long a connection is kept before it goes back through the pool.
const KEEP_FOR: Duration = Duration::from_secs(60);

/// The connections kept for listings.
#[derive(Debug)]
pub(crate) struct Listers(Kept<PoolConnection<Postgres>>);

/// A connection lent to one listing: call [`Lent::done`] once its query ran.
pub(crate) type Lister<'a> = Lent<'a, PoolConnection<Postgres>>;

impl Listers {
    /// Keeps up to half of `pool`'s connections when `keep` (a pool KCL opened; a
    /// host's pool is lent as usual).
    pub(crate) fn new(pool: &PgPool, keep: bool) -> Self {
        let held = match keep {
            true => pool.options().get_max_connections() / 2,
            false => 0,
        };
        Self(Kept::new(held as usize, PING_IF_IDLE_FOR, KEEP_FOR))
    }

    /// A connection of `pool` (the primary's) for one listing.
    pub(crate) async fn get(&self, pool: &PgPool) -> Result<Lister<'_>, sqlx::Error> {
        self.0
            .get(ACQUIRE_TIMEOUT, pool.acquire())
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
    /// panics where there is no runtime: a store dropped outside one closes its kept
    /// connections instead, giving their places in the pool back.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            for conn in self.0.take_idle() {
                drop(conn.detach());
            }
        }
    }
}
