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
//! reaches it). Read replicas' pools keep none. `Kept::close` hands them back
//! before the pool closes (closing waits for every connection).

use std::time::Duration;

use kcl_core::adapter_support::{Kept, Lent};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::{ACQUIRE_TIMEOUT, PING_IF_IDLE_FOR};

/// How long a connection is kept before it goes back through the pool.
const KEEP_FOR: Duration = Duration::from_secs(60);

/// The connections kept for listings.
pub(crate) type Listers = Kept<PoolConnection<Postgres>>;

/// Keeps up to half of `pool`'s connections when `keep` (a pool KCL opened; a host's
/// pool is lent as usual).
pub(crate) fn listers(pool: &PgPool, keep: bool) -> Listers {
    let held = match keep {
        true => pool.options().get_max_connections() / 2,
        false => 0,
    };
    Kept::new(held as usize, PING_IF_IDLE_FOR, KEEP_FOR).with_detach(|c| drop(c.detach()))
}

/// A connection of `pool` (the primary's) for one listing: call [`Lent::done`] once
/// its query ran.
pub(crate) async fn lister<'a>(
    listers: &'a Listers,
    pool: &PgPool,
) -> Result<Lent<'a, PoolConnection<Postgres>>, sqlx::Error> {
    let timed_out = || sqlx::Error::PoolTimedOut;
    listers
        .get(ACQUIRE_TIMEOUT, pool.acquire(), timed_out)
        .await
}
