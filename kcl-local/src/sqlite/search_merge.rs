//! The full-text index merged back into one piece after books are written one at a
//! time.
//!
//! FTS5 adds a segment to the index for every write transaction that touches it, and
//! a search looks its terms up in every segment. Its automerge keeps their number
//! logarithmic, not one, and one is what makes a search fast: in a 100,000-book
//! catalog, 200 books written one at a time left 10 segments, one row's test of a
//! dense search went from 10 to 57 µs and the search's page from 0.41 to 1.35 ms
//! (merging only the small segments left 2, and 38 µs; BENCHMARKS.md, "The
//! full-text index after single writes"). Bulk
//! imports end with FTS5's `optimize`; single writes (creating, editing or deleting
//! one book) mark the index here, and a task on the store's runtime merges it whole
//! at most once per [`interval`](SqliteStore::set_search_merge_interval): FTS5's
//! `merge` with a negative page count (an `optimize` done in steps), in steps of
//! [`STEP_PAGES`] pages, each its own write transaction, so a writer waits one step
//! (16-25 ms at 100,000 books) at most, never the whole merge (0.27-0.39 s).
//!
//! The interval also bounds the cost: a merge rewrites the whole index, so the task
//! waits at least [`DUTY`] times as long as its last merge took before the next.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

use super::{Db, SqliteStore};

/// Pages of index one merge step writes (one write transaction).
const STEP_PAGES: i64 = 64;
/// Steps of one merge at most (a runaway guard: 64 pages a step, ~4 GB of index).
const MAX_STEPS: u32 = 1 << 14;
/// A merge waits at least this many times as long as the last one took.
const DUTY: u32 = 20;
/// The structure record of an FTS5 table (`FTS5_STRUCTURE_ROWID` in SQLite's
/// source): it changes whenever a merge step moves anything, and only then.
const STRUCTURE: &str = "SELECT block FROM books_fts_data WHERE id = 10";

/// The default of [`SqliteStore::set_search_merge_interval`].
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Whether the index was written since its last merge, and the task that merges it.
pub(crate) struct SearchMerge {
    dirty: AtomicBool,
    /// The interval, in milliseconds.
    interval_ms: AtomicU64,
    task: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
}

impl SearchMerge {
    pub(crate) fn new() -> Self {
        Self {
            dirty: AtomicBool::new(false),
            interval_ms: AtomicU64::new(millis(DEFAULT_INTERVAL)),
            task: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// Stops the task (a step under way is dropped; its transaction rolls back).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Some(task) = self.lock().take() {
            task.abort();
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for SearchMerge {
    fn drop(&mut self) {
        if let Some(task) = self.lock().take() {
            task.abort();
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SqliteStore {
    /// How often, at most, the full-text index is merged back into one piece after
    /// books were created, edited or deleted one at a time (default 60 s; a bulk
    /// import merges it at its end). Searches slow down several times over while the
    /// index is in pieces; each merge rewrites the whole index (about 3 µs a book,
    /// in short steps), so the wait also stays at least 20 times the last merge's
    /// length. Every clone of the store shares the setting.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let store = kcl_local::SqliteStore::in_memory().await.unwrap();
    /// store.set_search_merge_interval(std::time::Duration::from_secs(10));
    /// # }
    /// ```
    pub fn set_search_merge_interval(&self, every: Duration) {
        let merge = &self.db.search_merge;
        merge.interval_ms.store(millis(every), Ordering::Relaxed);
        // A task asleep for the old interval starts over with the new one.
        if let Some(task) = merge.lock().take() {
            task.abort();
        }
        if merge.dirty.load(Ordering::Relaxed) {
            self.search_written();
        }
    }

    /// Marks the full-text index as written by a single-book write, and starts the
    /// task that merges it (on the current Tokio runtime; without one, the index is
    /// merged by the next write made on one, or by an import).
    pub(crate) fn search_written(&self) {
        let merge = &self.db.search_merge;
        merge.dirty.store(true, Ordering::Relaxed);
        if merge.closed.load(Ordering::Relaxed) {
            return;
        }
        let mut task = merge.lock();
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        *task = Some(runtime.spawn(merge_loop(Arc::downgrade(&self.db))));
    }
}

/// Merges the index whenever it was written, at most once per interval, until the
/// store closes or goes away (a timer a minute while nothing is written).
async fn merge_loop(weak: Weak<Db>) {
    let mut wait = match weak.upgrade() {
        Some(db) => db.search_merge.interval(),
        None => return,
    };
    loop {
        tokio::time::sleep(wait).await;
        let Some(db) = weak.upgrade() else { return };
        if !db.search_merge.dirty.swap(false, Ordering::Relaxed) {
            // Nothing written for a whole interval: wait another. (Ending here
            // would race a write that saw this task still running and started none.)
            wait = db.search_merge.interval();
            continue;
        }
        // The pool, not the store, is held while merging: a store dropped meanwhile
        // closes its connections as usual once the step ends.
        let write = db.write.clone();
        drop(db);
        let started = Instant::now();
        let merged = merge_whole(&write).await;
        let Some(db) = weak.upgrade() else { return };
        match merged {
            Ok(steps) => tracing::debug!(
                steps,
                took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "full-text index merged into one segment"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "merging the full-text index failed; trying again later");
                db.search_merge.dirty.store(true, Ordering::Relaxed);
            }
        }
        wait = db.search_merge.interval().max(started.elapsed() * DUTY);
    }
}

/// Merges the whole index into one segment, [`STEP_PAGES`] pages a write
/// transaction; returns the steps that moved anything.
pub(crate) async fn merge_whole(write: &SqlitePool) -> Result<u32, sqlx::Error> {
    for step in 0..MAX_STEPS {
        // The connection goes back to the pool between steps, so queued writes go
        // first.
        let mut conn = write.acquire().await?;
        let before: Option<Vec<u8>> = sqlx::query_scalar(STRUCTURE)
            .fetch_optional(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO books_fts (books_fts, rank) VALUES ('merge', ?)")
            .bind(-STEP_PAGES)
            .execute(&mut *conn)
            .await?;
        let after: Option<Vec<u8>> = sqlx::query_scalar(STRUCTURE)
            .fetch_optional(&mut *conn)
            .await?;
        if before == after {
            return Ok(step);
        }
    }
    Ok(MAX_STEPS)
}

/// The number of segments the full-text index is in, read from its structure
/// record (a 4-byte cookie, an optional 4-byte version marker, then the number of
/// levels and of segments as SQLite varints).
#[cfg(test)]
pub(crate) async fn segments(read: &SqlitePool) -> Result<u64, sqlx::Error> {
    let block: Vec<u8> = sqlx::query_scalar(STRUCTURE).fetch_one(read).await?;
    let mut at = if block.get(4..8) == Some(&[0xff, 0, 0, 1][..]) {
        8
    } else {
        4
    };
    let mut varint = || {
        let mut v = 0u64;
        while let Some(&b) = block.get(at) {
            at += 1;
            v = (v << 7) | u64::from(b & 0x7f);
            if b < 0x80 {
                break;
            }
        }
        v
    };
    let _levels = varint();
    Ok(varint())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kcl_core::ports::BookRepo;
    use kcl_core::testkit::fixtures::{book, event};

    use super::segments;
    use crate::SqliteStore;

    #[tokio::test]
    async fn single_writes_leave_the_index_in_one_segment() {
        let store = SqliteStore::in_memory().await.unwrap();
        store.set_search_merge_interval(Duration::from_millis(300));
        let mut first = None;
        for n in 0..12 {
            let book = book(&format!("Caminho {n}"), "Ana", "Poesia", 2001, 100, 1);
            store.insert(&book, &event()).await.unwrap();
            first.get_or_insert(book);
        }
        // An edit and a delete leave tombstones: merged away too.
        let mut edited = first.unwrap();
        edited.title = "Amor".into();
        store.update(&edited, 1, &event()).await.unwrap();
        store.delete(edited.id, None, &event()).await.unwrap();
        let pieces = segments(store.pool()).await.unwrap();
        assert!(pieces > 1, "12 single writes left {pieces} segment(s)");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while segments(store.pool()).await.unwrap() > 1 {
            assert!(std::time::Instant::now() < deadline, "never merged");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        store.close().await;
    }
}
