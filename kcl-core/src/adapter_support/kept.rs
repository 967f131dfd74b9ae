//! Connections taken from a pool once and kept for one kind of query.
//!
//! sqlx tests every connection as it goes back to its pool (a ping: a round trip to
//! the server, or for SQLite to the connection's worker thread), and no pool setting
//! turns that off. For a query as small as a listing's, that ping is a large part of
//! the database's work. [`Kept`] holds up to a set number of connections out of the
//! pool's hands and lends them: a connection whose query ran to its end
//! ([`Lent::done`]) comes back to the kept list without a test; any other (the query
//! failed, or the caller went away mid-query) goes back to its pool, which tests it
//! as usual. A kept connection that sat idle, or that was taken from the pool long
//! ago, goes back to the pool too when it is next asked for, so that the pool's own
//! checks (a ping after idling, a maximum lifetime) still reach it.
//!
//! Generic over the connection type `C` (a `sqlx::pool::PoolConnection`): dropping
//! one gives it back to its pool.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

/// A connection kept with its times.
struct Idle<C> {
    conn: C,
    /// When it was taken from the pool.
    taken: Instant,
    /// When its last query ended.
    used: Instant,
}

/// Up to `held` connections taken from a pool and lent, one query at a time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use kcl_core::adapter_support::Kept;
///
/// // Any value stands for a pooled connection here.
/// let kept: Kept<String> = Kept::new(1, Duration::from_secs(1), Duration::from_secs(60));
/// let wait = Duration::from_secs(1);
/// let pool = || async { Ok::<_, &str>("conn".to_owned()) };
/// let mut lent = kept.get(wait, pool(), || "timed out").await.unwrap();
/// lent.push_str(" used");
/// lent.done();
/// drop(lent);
/// // The same connection comes back, without asking the pool.
/// let again = kept.get(wait, async { Err("not asked") }, || "timed out").await.unwrap();
/// assert_eq!(*again, "conn used");
/// # }
/// ```
pub struct Kept<C> {
    /// One permit per connection that may be lent at once.
    permits: Semaphore,
    /// Connections not lent, and whether [`close`](Self::close) was called.
    idle: Mutex<(Vec<Idle<C>>, bool)>,
    held: usize,
    /// A kept connection idle this long goes back to the pool when next asked for.
    max_idle: Duration,
    /// A connection taken from the pool this long ago goes back to it when next
    /// asked for.
    max_age: Duration,
    /// What becomes of kept connections when this is dropped outside a Tokio
    /// runtime (see [`with_detach`](Self::with_detach)).
    detach: Option<fn(C)>,
}

impl<C> Kept<C> {
    /// Keeps up to `held` connections (`0`: every [`get`](Self::get) takes a
    /// connection from the pool and gives it back after, as without this type).
    pub fn new(held: usize, max_idle: Duration, max_age: Duration) -> Self {
        Self {
            permits: Semaphore::new(held),
            idle: Mutex::new((Vec::with_capacity(held), false)),
            held,
            max_idle,
            max_age,
            detach: None,
        }
    }

    /// `detach` disposes of each kept connection when this is dropped where no Tokio
    /// runtime runs: sqlx gives a dropped pooled connection back to its pool on a
    /// Tokio task and panics without a runtime, so an adapter passes
    /// `|c| drop(c.detach())` (the connection closes, and its place in the pool is
    /// given back).
    pub fn with_detach(mut self, detach: fn(C)) -> Self {
        self.detach = Some(detach);
        self
    }

    /// A connection for one query: a kept one, or one from `acquire` (the pool),
    /// kept after use while fewer than `held` are. When every kept connection is
    /// lent, callers wait for one in turn (first come, first served), at most
    /// `wait`, and then get `timed_out()`: at most `held` such queries run at once.
    pub async fn get<E>(
        &self,
        wait: Duration,
        acquire: impl Future<Output = Result<C, E>>,
        timed_out: impl FnOnce() -> E,
    ) -> Result<Lent<'_, C>, E> {
        if self.held == 0 {
            return Ok(Lent::new(acquire.await?, Instant::now(), None));
        }
        let Ok(Ok(permit)) = tokio::time::timeout(wait, self.permits.acquire()).await else {
            return Err(timed_out());
        };
        let now = Instant::now();
        let mut stale = Vec::new();
        let found = {
            let mut idle = self.lock();
            loop {
                match idle.0.pop() {
                    Some(k)
                        if now.duration_since(k.used) >= self.max_idle
                            || now.duration_since(k.taken) >= self.max_age =>
                    {
                        stale.push(k.conn)
                    }
                    other => break other,
                }
            }
        };
        // Back to the pool (outside the lock): its checks decide what becomes of them.
        drop(stale);
        let (conn, taken) = match found {
            Some(k) => (k.conn, k.taken),
            None => (acquire.await?, Instant::now()),
        };
        Ok(Lent::new(conn, taken, Some((self, permit))))
    }

    /// Gives back every kept connection, and every lent one when its query ends:
    /// call before closing the pool (closing waits for every connection).
    pub fn close(&self) {
        let idle = {
            let mut idle = self.lock();
            idle.1 = true;
            std::mem::take(&mut idle.0)
        };
        // Back to the pool, after the lock.
        drop(idle);
    }

    fn lock(&self) -> MutexGuard<'_, (Vec<Idle<C>>, bool)> {
        // A panic while the lock is held leaves the list as it was: still usable.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C> std::fmt::Debug for Kept<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("held", &self.held)
            .field("idle", &self.lock().0.len())
            .finish_non_exhaustive()
    }
}

impl<C> Drop for Kept<C> {
    fn drop(&mut self) {
        if let Some(detach) = self.detach {
            if tokio::runtime::Handle::try_current().is_err() {
                for k in std::mem::take(&mut self.lock().0) {
                    detach(k.conn);
                }
            }
        }
    }
}

/// A connection lent to one query (dereferences to the connection).
pub struct Lent<'a, C> {
    conn: Option<C>,
    taken: Instant,
    home: Option<(&'a Kept<C>, SemaphorePermit<'a>)>,
    done: bool,
}

impl<'a, C> Lent<'a, C> {
    fn new(conn: C, taken: Instant, home: Option<(&'a Kept<C>, SemaphorePermit<'a>)>) -> Self {
        Self {
            conn: Some(conn),
            taken,
            home,
            done: false,
        }
    }

    /// Marks the query as run to its end, so the connection is kept. Dropped
    /// without it (the query failed, or the caller went away while it ran), the
    /// connection goes back to its pool, which tests it and waits for whatever it
    /// was still doing.
    pub fn done(&mut self) {
        self.done = true;
    }
}

impl<C> std::ops::Deref for Lent<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl<C> std::ops::DerefMut for Lent<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl<C> Drop for Lent<'_, C> {
    fn drop(&mut self) {
        let (Some(conn), Some((home, _permit)), true) = (self.conn.take(), &self.home, self.done)
        else {
            return;
        };
        let mut idle = home.lock();
        if !idle.1 {
            idle.0.push(Idle {
                conn,
                taken: self.taken,
                used: Instant::now(),
            });
        }
        // Closed: `conn` goes back to the pool as it drops (after the lock).
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::Kept;

    const WAIT: Duration = Duration::from_millis(200);

    /// A connection that counts how many were given back to "the pool".
    struct Conn(u32, Arc<AtomicUsize>);

    impl Drop for Conn {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn done_connections_are_kept_others_go_back() {
        let back = Arc::new(AtomicUsize::new(0));
        let kept = Kept::new(2, Duration::from_secs(60), Duration::from_secs(600));
        let pool = |n| {
            let back = back.clone();
            async move { Ok::<_, ()>(Conn(n, back)) }
        };
        let mut a = kept.get(WAIT, pool(1), || ()).await.unwrap();
        a.done();
        drop(a);
        assert_eq!(back.load(Ordering::Relaxed), 0);
        // Kept: the pool is not asked again.
        let b = kept.get(WAIT, pool(2), || ()).await.unwrap();
        assert_eq!(b.0, 1);
        // Not done: back to the pool.
        drop(b);
        assert_eq!(back.load(Ordering::Relaxed), 1);
        let c = kept.get(WAIT, pool(3), || ()).await.unwrap();
        assert_eq!(c.0, 3);
        // Both kept ones lent: a third caller waits, then times out.
        let mut d = kept.get(WAIT, pool(4), || ()).await.unwrap();
        assert!(kept.get(WAIT, pool(5), || ()).await.is_err());
        d.done();
        drop(d);
        kept.close();
        assert_eq!(
            back.load(Ordering::Relaxed),
            2,
            "closing gives the kept one back"
        );
        let mut c = c;
        c.done();
        drop(c);
        assert_eq!(
            back.load(Ordering::Relaxed),
            3,
            "closed: a lent one goes back too"
        );
    }

    #[tokio::test]
    async fn idle_or_old_connections_go_back_to_the_pool() {
        let back = Arc::new(AtomicUsize::new(0));
        let pool = |n| {
            let back = back.clone();
            async move { Ok::<_, ()>(Conn(n, back)) }
        };
        for kept in [
            Kept::new(1, Duration::from_millis(20), Duration::from_secs(600)),
            Kept::new(1, Duration::from_secs(600), Duration::from_millis(20)),
        ] {
            let before = back.load(Ordering::Relaxed);
            let mut a = kept.get(WAIT, pool(1), || ()).await.unwrap();
            a.done();
            drop(a);
            tokio::time::sleep(Duration::from_millis(40)).await;
            let b = kept.get(WAIT, pool(2), || ()).await.unwrap();
            assert_eq!(b.0, 2, "a fresh connection from the pool");
            assert_eq!(back.load(Ordering::Relaxed), before + 1);
        }
    }

    #[tokio::test]
    async fn none_held_lends_pooled_connections() {
        let back = Arc::new(AtomicUsize::new(0));
        let kept = Kept::new(0, Duration::from_secs(60), Duration::from_secs(600));
        let mut a = kept
            .get(WAIT, async { Ok::<_, &str>(Conn(1, back.clone())) }, || {
                "timed out"
            })
            .await
            .unwrap();
        a.done();
        drop(a);
        assert_eq!(back.load(Ordering::Relaxed), 1);
        assert!(matches!(
            kept.get(WAIT, async { Err::<Conn, _>("down") }, || "timed out")
                .await,
            Err("down")
        ));
    }
}
