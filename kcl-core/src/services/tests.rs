//! Service rules, on the in-memory adapters with a manual clock and sequential ids.

use std::sync::Arc;

use chrono::{Days, Duration};

use super::*;
use crate::domain::{AuditAction, BookDraft, Isbn};
use crate::memory::MemoryBackend;
use crate::ports::audit_log_mock::MockAuditLog;
use crate::ports::{ManualClock, SequentialIds};

fn draft(n: u64, copies: i64) -> BookDraft {
    BookDraft::builder(format!("Book {n}"), "Author", Isbn::synthetic(n).as_str())
        .year(2001)
        .copies(copies)
        .build()
        .unwrap()
}

fn services() -> (Services, Arc<ManualClock>) {
    let mem = MemoryBackend::new();
    let clock = Arc::new(ManualClock::new("2026-11-29T10:00:00Z".parse().unwrap()));
    let mut ports = mem.ports();
    ports.clock = clock.clone();
    ports.ids = Arc::new(SequentialIds::default());
    (Services::new(ports), clock)
}

#[tokio::test]
async fn rent_defaults_to_fourteen_days_and_goes_overdue() {
    let (s, clock) = services();
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    let r = s.rentals.rent(book.id, "ana", None).await.unwrap();
    assert_eq!(r.due_date, clock.now().date_naive() + Days::new(14));
    let err = s.rentals.rent(book.id, "bia", None).await.unwrap_err();
    assert_eq!(err.code(), "no-copy-available");
    clock.advance(Duration::days(15));
    let overdue = s
        .rentals
        .list(ListRentals {
            status: Some("overdue".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(overdue.items, [r]);
}

#[tokio::test]
async fn due_date_in_the_past_is_invalid() {
    let (s, clock) = services();
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    let yesterday = clock.now().date_naive() - Days::new(1);
    let err = s
        .rentals
        .rent(book.id, " ", Some(yesterday))
        .await
        .unwrap_err();
    match err {
        ServiceError::Invalid(v) => assert_eq!(v.errors.len(), 2, "renter and due date"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_change_is_audited_in_order() {
    let (s, _) = services();
    let book = s.catalog.create(draft(1, 2)).await.unwrap();
    let book = s.catalog.update(book.id, draft(1, 3), 1).await.unwrap();
    let r = s.rentals.rent(book.id, "ana", None).await.unwrap();
    s.rentals.return_rental(r.id).await.unwrap();
    s.rentals.return_rental(r.id).await.unwrap(); // no-op, no event
    s.catalog.delete(book.id, Some(2)).await.unwrap();
    let actions: Vec<_> = s
        .catalog
        .history(book.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    use AuditAction::*;
    assert_eq!(actions, [Created, Updated, Rented, Returned, Deleted]);
}

#[tokio::test]
async fn stale_version_is_a_conflict_and_cache_is_invalidated() {
    let (s, _) = services();
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    assert_eq!(s.catalog.get(book.id).await.unwrap().available(), 1); // cached now
    s.rentals.rent(book.id, "ana", None).await.unwrap();
    assert_eq!(
        s.catalog.get(book.id).await.unwrap().available(),
        0,
        "rent invalidates"
    );
    s.catalog.update(book.id, draft(1, 2), 1).await.unwrap();
    let err = s.catalog.update(book.id, draft(1, 2), 1).await.unwrap_err();
    assert_eq!(err.code(), "version-conflict");
    assert_eq!(
        s.catalog.get(book.id).await.unwrap().copies,
        2,
        "update invalidates"
    );
    let err = s.catalog.delete(book.id, None).await.unwrap_err();
    assert_eq!(err.code(), "book-rented");
}

#[tokio::test]
async fn bad_listing_arguments_are_all_reported() {
    let (s, _) = services();
    let err = s
        .catalog
        .list(ListBooks {
            sort: Some("colour".into()),
            limit: Some(0),
            cursor: Some("!!".into()),
            year_from: Some(2000),
            year_to: Some(1990),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let ServiceError::Invalid(v) = err else {
        panic!()
    };
    let fields: Vec<_> = v.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["sort", "limit", "year_from", "cursor"]);
}

#[tokio::test]
async fn a_failing_audit_log_does_not_fail_the_write_nor_lose_its_event() {
    let mem = MemoryBackend::new();
    let mut audit = MockAuditLog::new();
    audit
        .expect_append()
        .times(1)
        .returning(|_| Err(crate::ports::AuditLogError::Unavailable("down".into())));
    let mut ports = mem.ports();
    ports.audit = Arc::new(audit);
    let s = Services::new(ports);
    let book = s.catalog.create(draft(7, 1)).await.unwrap();
    assert_eq!(s.catalog.get(book.id).await.unwrap().title, "Book 7");
    // The event waits in the outbox; the next relay, the log back, moves it.
    let up = Services::new(mem.ports());
    assert_eq!(up.catalog.relay_audit().await, 1);
    let history = up.catalog.history(book.id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, crate::domain::AuditAction::Created);
}

/// An audit log that never answers, as a frozen one.
struct HangingLog;

#[async_trait::async_trait]
impl crate::ports::AuditLog for HangingLog {
    async fn append(
        &self,
        _: &crate::domain::AuditEvent,
    ) -> Result<(), crate::ports::AuditLogError> {
        std::future::pending().await
    }
    async fn history(
        &self,
        _: &crate::domain::EntityRef,
        _: u32,
    ) -> Result<Vec<crate::domain::AuditEvent>, crate::ports::AuditLogError> {
        std::future::pending().await
    }
    async fn search(
        &self,
        _: &crate::domain::AuditQuery,
    ) -> Result<Vec<crate::domain::AuditEvent>, crate::ports::AuditLogError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_hanging_audit_log_delays_no_write_beyond_the_relay_wait() {
    let mem = MemoryBackend::new();
    let mut ports = mem.ports();
    ports.audit = Arc::new(HangingLog);
    let s = Services::new(ports);
    let started = std::time::Instant::now();
    let book = s.catalog.create(draft(8, 1)).await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= journal::RELAY_WAIT && took < journal::RELAY_WAIT * 3,
        "the write answered after {took:?}; the relay wait is {:?}",
        journal::RELAY_WAIT
    );
    assert_eq!(s.catalog.get(book.id).await.unwrap().title, "Book 8");
    // The event is still pending: the log back, a relay moves it.
    let up = Services::new(mem.ports());
    assert_eq!(up.catalog.relay_audit().await, 1);
    assert_eq!(up.catalog.history(book.id, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn cached_listings_never_outlive_a_write() {
    let (s, _) = services();
    let all = || ListBooks::default();
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    assert_eq!(s.catalog.list(all()).await.unwrap().items.len(), 1);
    assert_eq!(
        s.catalog.list(all()).await.unwrap().items.len(),
        1,
        "a cache hit"
    );
    s.catalog.create(draft(2, 1)).await.unwrap();
    assert_eq!(
        s.catalog.list(all()).await.unwrap().items.len(),
        2,
        "create invalidates"
    );
    s.rentals.rent(book.id, "ana", None).await.unwrap();
    let page = s.catalog.list(all()).await.unwrap();
    assert_eq!(page.items[0].available(), 0, "a rental invalidates");
    s.catalog.delete(page.items[1].id, None).await.unwrap();
    assert_eq!(
        s.catalog.list(all()).await.unwrap().items.len(),
        1,
        "delete invalidates"
    );
}

/// A book repository whose next `get` reads, then waits for a signal before answering:
/// a read that raced a write.
struct PausingReads {
    inner: Arc<crate::memory::MemoryCatalog>,
    pause_next: std::sync::atomic::AtomicBool,
    release: tokio::sync::Notify,
    paused: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl crate::ports::BookRepo for PausingReads {
    async fn insert(
        &self,
        b: &crate::domain::Book,
        e: &crate::domain::AuditEvent,
    ) -> Result<(), crate::ports::BookRepoError> {
        self.inner.insert(b, e).await
    }
    async fn insert_batch(
        &self,
        books: &[(crate::domain::Book, crate::domain::AuditEvent)],
    ) -> Result<Vec<usize>, crate::ports::BookRepoError> {
        self.inner.insert_batch(books).await
    }
    async fn get(
        &self,
        id: crate::domain::BookId,
    ) -> Result<crate::domain::Book, crate::ports::BookRepoError> {
        let read = crate::ports::BookRepo::get(self.inner.as_ref(), id).await;
        if self
            .pause_next
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.paused.notify_one();
            self.release.notified().await;
        }
        read
    }
    async fn update(
        &self,
        b: &crate::domain::Book,
        v: u64,
        e: &crate::domain::AuditEvent,
    ) -> Result<crate::domain::Book, crate::ports::BookRepoError> {
        self.inner.update(b, v, e).await
    }
    async fn delete(
        &self,
        id: crate::domain::BookId,
        v: Option<u64>,
        e: &crate::domain::AuditEvent,
    ) -> Result<crate::domain::Book, crate::ports::BookRepoError> {
        self.inner.delete(id, v, e).await
    }
    async fn list(
        &self,
        q: &crate::domain::BookQuery,
    ) -> Result<Vec<crate::domain::Book>, crate::ports::BookRepoError> {
        crate::ports::BookRepo::list(self.inner.as_ref(), q).await
    }
    async fn set_cover<'e>(
        &self,
        id: crate::domain::BookId,
        cover: Option<crate::domain::BookCover>,
        if_original: Option<String>,
        e: Option<&'e crate::domain::AuditEvent>,
    ) -> Result<crate::ports::CoverSwap, crate::ports::BookRepoError> {
        self.inner.set_cover(id, cover, if_original, e).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_raced_a_write_never_caches_the_old_book() {
    let mem = MemoryBackend::new();
    let repo = Arc::new(PausingReads {
        inner: mem.catalog.clone(),
        pause_next: false.into(),
        release: tokio::sync::Notify::new(),
        paused: tokio::sync::Notify::new(),
    });
    let mut ports = mem.ports();
    ports.books = repo.clone();
    let s = Services::new(ports);
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    repo.pause_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let reader = tokio::spawn({
        let s = s.clone();
        async move { s.catalog.get(book.id).await.unwrap() }
    });
    repo.paused.notified().await; // the reader holds version 1
    s.catalog.update(book.id, draft(1, 5), 1).await.unwrap();
    repo.release.notify_one();
    assert_eq!(
        reader.await.unwrap().version,
        1,
        "the raced read answers what it read"
    );
    let after = s.catalog.get(book.id).await.unwrap();
    assert_eq!(
        (after.version, after.copies),
        (2, 5),
        "but never caches it past the write"
    );
}

#[tokio::test]
async fn a_cover_status_left_unfinished_for_hours_expires_when_read() {
    use crate::ports::{ProcessingState, ProcessingStatus, StatusCondition};
    let mem = MemoryBackend::new();
    let clock = Arc::new(ManualClock::new("2026-11-29T10:00:00Z".parse().unwrap()));
    let mut ports = mem.ports();
    ports.clock = clock.clone();
    let store = ports.status.clone();
    let s = Services::new(ports);
    let put = |key: &str, state| {
        let (store, st) = (
            store.clone(),
            ProcessingStatus::new(key, state, "", clock.now()),
        );
        async move {
            store.put(&st, StatusCondition::Always).await.unwrap();
        }
    };
    put("uploads/1/a.jpg", ProcessingState::Pending).await;
    put("uploads/2/b.jpg", ProcessingState::Processing).await;
    put("uploads/3/c.jpg", ProcessingState::Done).await;

    // An hour later: still waiting, untouched.
    clock.advance(Duration::hours(1));
    let st = s.covers.status("uploads/1/a.jpg").await.unwrap();
    assert_eq!(st.status, ProcessingState::Pending);

    // Past the 6 hours: the unfinished ones are recorded as lost, once.
    clock.advance(Duration::hours(6));
    for key in ["uploads/1/a.jpg", "uploads/2/b.jpg"] {
        let st = s.covers.status(key).await.unwrap();
        assert_eq!(st.status, ProcessingState::Error, "{key}");
        assert!(st.message.contains("task was lost"), "{}", st.message);
        assert_eq!(st.updated_at, clock.now());
        let stored = store.get(key).await.unwrap().unwrap();
        assert_eq!(stored, st, "recorded, not only reported");
    }
    let done = s.covers.status("uploads/3/c.jpg").await.unwrap();
    assert_eq!(done.status, ProcessingState::Done, "final states stay");
    assert_eq!(
        s.covers
            .status("uploads/4/none.jpg")
            .await
            .unwrap_err()
            .code(),
        "not-found"
    );
}

/// Daily totals that pause their first store until released: a load that computed
/// its totals and stores them late, after a later load stored its own.
struct LateFirstPut {
    inner: Arc<crate::memory::MemorySalesDays>,
    first: std::sync::atomic::AtomicBool,
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl crate::ports::SalesDays for LateFirstPut {
    async fn put(
        &self,
        days: &[crate::domain::DayTotals],
    ) -> Result<(), crate::ports::SalesRepoError> {
        if self.first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.put(days).await
    }

    async fn range(
        &self,
        store: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<crate::domain::DayTotals>, crate::ports::SalesRepoError> {
        self.inner.range(store, from, to).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_daily_totals_stored_are_those_of_every_committed_load() {
    let mem = MemoryBackend::new();
    let days = Arc::new(LateFirstPut {
        inner: mem.sales_days.clone(),
        first: true.into(),
        entered: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    let mut ports = mem.ports();
    ports.sales_days = days.clone();
    let s = Services::new(ports);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, qty: u32| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("loja;data;codigo;quantidade;preco_unitario\nS1;23/11/2026;789;{qty};1,00\n"),
        )
        .unwrap();
        path
    };
    let (a, b) = (file("a.csv", 2), file("b.csv", 5));
    // Load A computes its totals (A only) and is held before storing them.
    let first = {
        let s = s.clone();
        tokio::spawn(async move {
            s.sales
                .ingest_path("a.csv", &a, IngestOptions::default())
                .await
                .unwrap()
        })
    };
    days.entered.notified().await;
    // Load B publishes and stores A + B; then A's late store lands.
    let second = s
        .sales
        .ingest_path("b.csv", &b, IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(second.status, IngestStatus::Loaded);
    days.release.notify_one();
    assert_eq!(first.await.unwrap().status, IngestStatus::Loaded);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let stored = s.sales.daily("S1", day, day).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].lines, stored[0].revenue_cents),
        (2, 700),
        "both loads' lines: the late store of the first load's totals was corrected"
    );
}

/// A build without a thumbnailer says the capability is missing (503
/// `not-enabled`, telling how to enable it), not that it is down ("retry later").
#[tokio::test]
async fn covers_without_a_thumbnailer_are_not_enabled() {
    let (s, _) = services();
    let book = s.catalog.create(draft(1, 1)).await.unwrap();
    let err = s
        .covers
        .upload(book.id, bytes::Bytes::from_static(b"\xff\xd8\xff"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not-enabled", "{err}");
    assert!(err.to_string().contains("`media` feature"), "{err}");
}

/// A blob store's failure means the same in every service: a missing object is
/// 404, a value the store refuses 422, an outage 503, anything else 500.
#[test]
fn blob_failures_map_by_kind_alone() {
    use crate::ports::{BlobKey, BlobStoreError, StoreError};
    let key = BlobKey::parse("sales/incoming/a.csv").unwrap();
    let cases = [
        (BlobStoreError::NotFound(key), "not-found"),
        (
            BlobStoreError::invalid_input("key too long".into()),
            "validation-failed",
        ),
        (BlobStoreError::unavailable("timeout".into()), "unavailable"),
        (BlobStoreError::internal("odd answer".into()), "internal"),
    ];
    for (e, code) in cases {
        let text = e.to_string();
        let mapped = ServiceError::from(e);
        assert_eq!(mapped.code(), code, "{text}");
        // The port's error stays the source, not just its text.
        if matches!(code, "unavailable" | "internal") {
            let source = std::error::Error::source(&mapped).expect("a source");
            assert!(
                source.downcast_ref::<BlobStoreError>().is_some(),
                "{source}"
            );
        }
    }
}

/// A primary with replicas whose log advances by one at every `position()` call, and
/// which notes the catalog generation in the cache when asked.
struct FakePrimary {
    cache: Arc<dyn crate::ports::Cache>,
    next: std::sync::atomic::AtomicU64,
    generations: std::sync::Mutex<Vec<Option<bytes::Bytes>>>,
}

#[async_trait::async_trait]
impl crate::ports::Replication for FakePrimary {
    fn has_replicas(&self) -> bool {
        true
    }

    async fn position(
        &self,
    ) -> Result<Option<crate::ports::LogPosition>, crate::ports::ReplicationError> {
        let g = self
            .cache
            .get(super::catalog::GENERATION_KEY)
            .await
            .unwrap();
        self.generations.lock().unwrap().push(g);
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(Some(crate::ports::LogPosition(n)))
    }
}

#[tokio::test]
async fn listings_may_read_a_replica_only_past_a_position_taken_after_the_generation_renewal() {
    use crate::ports::LogPosition;
    let mem = MemoryBackend::new();
    let mut ports = mem.ports();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut books = crate::ports::MockBookRepo::new();
    books.expect_insert().returning(|_, _| Ok(()));
    let noted = seen.clone();
    books.expect_list().returning(move |_| {
        noted.lock().unwrap().push(crate::context::read_position());
        Ok(Vec::new())
    });
    ports.books = Arc::new(books);
    let primary = Arc::new(FakePrimary {
        cache: ports.cache.clone(),
        next: 0.into(),
        generations: Default::default(),
    });
    ports.replication = primary.clone();
    let cache = ports.cache.clone();
    let s = Services::new(ports);
    let list = |limit| ListBooks {
        limit: Some(limit),
        ..Default::default()
    };

    // No write yet: the generation has no recorded position, the primary answers.
    s.catalog.list(list(1)).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0], None);

    // A write: its position is taken once the new generation is in place, recorded
    // under it, and handed to the client's session.
    let (book, wrote) = crate::context::with_session(None, s.catalog.create(draft(1, 1))).await;
    book.unwrap();
    assert_eq!(wrote, Some(LogPosition(1)));
    let current = cache.get(super::catalog::GENERATION_KEY).await.unwrap();
    assert!(current.is_some());
    assert_eq!(
        primary.generations.lock().unwrap().as_slice(),
        [current],
        "the position was taken after the generation was renewed"
    );
    s.catalog.list(list(2)).await.unwrap();
    assert_eq!(seen.lock().unwrap()[1], Some(LogPosition(1)));

    // A client whose own writes reached further reads past them.
    let (r, wrote) =
        crate::context::with_session(Some(LogPosition(7)), s.catalog.list(list(3))).await;
    r.unwrap();
    assert_eq!(wrote, None, "a read writes nothing");
    assert_eq!(seen.lock().unwrap()[2], Some(LogPosition(7)));

    // The generation renewed without a write (here by hand) has no position.
    s.catalog.invalidate().await;
    s.catalog.list(list(4)).await.unwrap();
    assert_eq!(seen.lock().unwrap()[3], None);
}

/// Pages both ways: `before` a page's `prev_cursor` is the page before it, with
/// the same books; offsets follow; the count says how many there are.
#[tokio::test]
async fn pages_go_back_with_before_and_say_where_they_are() {
    let (s, _) = services();
    for n in 1..=5 {
        s.catalog.create(draft(n, 1)).await.unwrap();
    }
    let ask = ListBooks {
        sort: Some("-year".into()),
        limit: Some(2),
        with_count: true,
        ..Default::default()
    };
    let first = s.catalog.list(ask.clone()).await.unwrap();
    assert_eq!(
        (first.offset, first.prev_cursor.as_deref()),
        (Some(0), None)
    );
    let count = first.count.unwrap();
    assert_eq!((count.value, count.capped), (5, false));
    let second = s
        .catalog
        .list(ListBooks {
            cursor: first.next_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap();
    assert_eq!(second.offset, Some(2));
    let third = s
        .catalog
        .list(ListBooks {
            cursor: second.next_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            third.offset,
            third.items.len(),
            third.next_cursor.as_deref()
        ),
        (Some(4), 1, None)
    );
    // Back from the third: the second again, then the first.
    let back = s
        .catalog
        .list(ListBooks {
            before: third.prev_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap();
    assert_eq!(back.items, second.items);
    assert_eq!(back.offset, Some(2));
    let front = s
        .catalog
        .list(ListBooks {
            before: back.prev_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap();
    assert_eq!(front.items, first.items);
    assert_eq!(
        (front.offset, front.prev_cursor.as_deref()),
        (Some(0), None),
        "nothing before the first"
    );
    assert!(front.next_cursor.is_some());
    // Both at once, or a cursor of another sort: refused, naming the field.
    let err = s
        .catalog
        .list(ListBooks {
            cursor: first.next_cursor.clone(),
            before: third.prev_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap_err();
    let ServiceError::Invalid(v) = err else {
        panic!()
    };
    assert_eq!(v.errors[0].field, "before");
    let err = s
        .catalog
        .list(ListBooks {
            sort: Some("title".into()),
            before: third.prev_cursor.clone(),
            ..ask.clone()
        })
        .await
        .unwrap_err();
    let ServiceError::Invalid(v) = err else {
        panic!()
    };
    assert_eq!(
        (v.errors[0].field.as_str(), v.errors[0].code),
        ("before", "bad-cursor")
    );
}
