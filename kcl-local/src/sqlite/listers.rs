//! Read connections kept for listings, out of the pool's hands between uses.
//!
//! sqlx tests every connection as it goes back to its pool (a ping, which for SQLite
//! is a round trip to the connection's worker thread, as dear as a small query), and
//! no pool setting turns that off. An uncached listing is one query, so that ping was
//! a third of its database work. A listing instead borrows one of at most
//! [`HELD`] connections taken from the read pool and kept here: it goes back to this
//! list without a test. A connection to a local file does not go stale; one whose
//! query failed goes back to the pool, which tests it as usual.
//!
//! The held connections still count in the read pool's size, so the pool keeps at
//! least `READERS - HELD` connections for every other read. [`Listers::close`]
//! hands them back before the pool closes (closing waits for every connection).

use std::sync::Mutex;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{ACQUIRE_TIMEOUT, READERS};

/// Connections kept for listings on a store KCL opened: half its read pool.
pub(crate) const HELD: u32 = READERS / 2;

/// The read connections kept for listings.
pub(crate) struct Listers {
    /// One permit per connection a listing may hold.
    permits: Semaphore,
    /// Connections not in use, and whether [`close`](Self::close) was called.
    idle: Mutex<(Vec<PoolConnection<Sqlite>>, bool)>,
    /// How many connections to keep: none on a host's pool
    /// ([`SqliteStore::from_pools`](super::SqliteStore::from_pools): a host does not
    /// expect KCL to keep its connections).
    held: usize,
}

impl Listers {
    /// Keeps up to `held` connections of `read` (fewer when the pool is small: it
    /// always keeps one for other reads). `0` lends pooled connections as usual.
    pub(crate) fn new(read: &SqlitePool, held: u32) -> Self {
        let max = read.options().get_max_connections();
        let held = held.min(max.saturating_sub(1)) as usize;
        Self {
            permits: Semaphore::new(held),
            idle: Mutex::new((Vec::with_capacity(held), false)),
            held,
        }
    }

    /// A connection for one listing: a kept one, or one taken from `read` (and
    /// kept after use) while fewer than are allowed are. With none allowed, a
    /// pooled connection as usual.
    pub(crate) async fn get<'a>(&'a self, read: &SqlitePool) -> Result<Lister<'a>, sqlx::Error> {
        if self.held == 0 {
            return Ok(Lister {
                conn: Some(read.acquire().await?),
                home: None,
                done: false,
            });
        }
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let kept = self.lock().0.pop();
        let conn = match kept {
            Some(conn) => conn,
            None => read.acquire().await?,
        };
        Ok(Lister {
            conn: Some(conn),
            home: Some((self, permit)),
            done: false,
        })
    }

    /// Hands every kept connection back to the pool, and every one in use when its
    /// listing ends: call before closing the pool.
    pub(crate) fn close(&self) {
        let mut idle = self.lock();
        idle.1 = true;
        idle.0.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<PoolConnection<Sqlite>>, bool)> {
        // A panic while the lock is held leaves the list as it was: still usable.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Listers {
    /// sqlx gives a dropped pooled connection back to its pool on a Tokio task, and
    /// panics where there is no runtime: a store dropped outside one (after its
    /// runtime ended) closes its kept connections instead, giving their places in
    /// the pool back.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            for conn in self.lock().0.drain(..) {
                drop(conn.detach());
            }
        }
    }
}

/// A connection lent to one listing (dereferences to the connection).
pub(crate) struct Lister<'a> {
    conn: Option<PoolConnection<Sqlite>>,
    home: Option<(&'a Listers, SemaphorePermit<'a>)>,
    /// See [`done`](Self::done).
    done: bool,
}

impl Lister<'_> {
    /// Marks the listing's query as run to its end, so the connection is kept.
    /// A lister dropped without it (the query failed, or the request went away
    /// while the query ran) gives its connection back to the pool, which tests it
    /// and waits for whatever the connection was still doing.
    pub(crate) fn done(&mut self) {
        self.done = true;
    }
}

impl std::ops::Deref for Lister<'_> {
    type Target = sqlx::SqliteConnection;

    fn deref(&self) -> &Self::Target {
        self.conn
            .as_ref()
            .expect("a lister holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Lister<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
            .as_mut()
            .expect("a lister holds its connection until dropped")
    }
}

impl Drop for Lister<'_> {
    fn drop(&mut self) {
        let (Some(conn), Some((home, _permit)), true) = (self.conn.take(), &self.home, self.done)
        else {
            return;
        };
        let mut idle = home.lock();
        if !idle.1 {
            idle.0.push(conn);
        }
        // Closed: `conn` goes back to the pool as it drops (after the lock).
    }
}
