use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The time source, injected so tests are deterministic.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, truncated to microseconds (what every database keeps).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use kcl_core::ports::{Clock, ManualClock};
/// let c = ManualClock::new("2026-11-29T12:00:00Z".parse().unwrap());
/// c.advance(chrono::Duration::days(1));
/// assert_eq!(c.now().to_rfc3339(), "2026-11-30T12:00:00+00:00");
/// ```
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `at` (truncated to microseconds, like [`SystemClock`]).
    pub fn new(at: DateTime<Utc>) -> Self {
        use chrono::SubsecRound;
        Self(Mutex::new(at.trunc_subsecs(6)))
    }
    /// Moves the clock (to the microsecond).
    pub fn advance(&self, by: chrono::Duration) {
        use chrono::SubsecRound;
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t = (*t + by).trunc_subsecs(6);
    }
    /// Sets the clock.
    pub fn set(&self, at: DateTime<Utc>) {
        use chrono::SubsecRound;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at.trunc_subsecs(6);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The id source, injected so tests are deterministic.
pub trait IdSource: Send + Sync {
    /// A new unique id.
    fn new_id(&self) -> Uuid;
}

/// Time-ordered random UUIDs (version 7): good index locality in every database.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl IdSource for UuidV7Ids {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Ids 1, 2, 3, ... as UUIDs, for deterministic tests.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdSource for SequentialIds {
    fn new_id(&self) -> Uuid {
        Uuid::from_u128(self.0.fetch_add(1, Ordering::Relaxed) as u128 + 1)
    }
}
