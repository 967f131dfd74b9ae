//! The [`AuditLog`] contract.

use chrono::Duration;
use uuid::Uuid;

use crate::domain::{
    AuditAction, AuditEvent, AuditPosition, AuditQuery, EntityKind, EntityRef, EventId,
};
use crate::ports::{
    AuditLog, AuditLogError, AuditOutbox, BookRepo, Clock, RentalRepo, SystemClock,
};

fn event(entity: &EntityRef, action: AuditAction, at_ms: i64) -> AuditEvent {
    AuditEvent {
        event_id: EventId(Uuid::now_v7()),
        action,
        entity: entity.clone(),
        data: serde_json::json!({"n": at_ms, "text": "ação"}),
        occurred_at: SystemClock.now() + Duration::milliseconds(at_ms),
    }
}

/// Runs every audit-log case.
pub async fn run(log: &dyn AuditLog) {
    let entity = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    let other = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    let created = event(&entity, AuditAction::Created, 0);
    let updated = event(&entity, AuditAction::Updated, 5);
    let rented = event(&entity, AuditAction::Rented, 5); // same time: append order
    let late = event(&entity, AuditAction::Deleted, 10);
    // Appended out of time order: history is by time, then append order.
    for e in [&created, &late, &updated, &rented] {
        log.append(e).await.expect("append");
    }
    log.append(&event(&other, AuditAction::Created, 1))
        .await
        .expect("append");
    assert!(
        matches!(
            log.append(&created).await,
            Err(AuditLogError::DuplicateId(_))
        ),
        "appending the same event id twice must be DuplicateId"
    );
    let history = log.history(&entity, 100).await.expect("history");
    assert_eq!(
        history.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [
            created.event_id,
            updated.event_id,
            rented.event_id,
            late.event_id
        ],
        "history is oldest first, ties in append order, only this entity"
    );
    assert_eq!(
        history[0], created,
        "events read back unchanged (data, time, action)"
    );
    assert_eq!(
        log.history(&entity, 2).await.expect("history").len(),
        2,
        "limit"
    );
    let nobody = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    assert!(log.history(&nobody, 10).await.expect("history").is_empty());
    search_across_entities(log).await;
}

/// [`AuditLog::search`]: by action, by kind of entity, within a window, newest
/// first, a page at a time, whatever else the log holds (the kit's events sit in a
/// window of their own, far from every other run's).
pub async fn search_across_entities(log: &dyn AuditLog) {
    let base = SystemClock.now()
        + Duration::days(365 * 250)
        + Duration::seconds(i64::from(rand_u32() % 1_000_000_000));
    let at = |entity: &EntityRef, action, seconds: i64| AuditEvent {
        event_id: EventId(Uuid::now_v7()),
        action,
        entity: entity.clone(),
        data: serde_json::json!({"s": seconds}),
        occurred_at: base + Duration::seconds(seconds),
    };
    let of = |kind| EntityRef {
        kind,
        id: Uuid::new_v4().to_string(),
    };
    let (a, b, job, file) = (
        of(EntityKind::Book),
        of(EntityKind::Book),
        of(EntityKind::Job),
        of(EntityKind::SalesFile),
    );
    let events = [
        at(&a, AuditAction::Created, 0),
        at(&job, AuditAction::Created, 1),
        at(&a, AuditAction::Deleted, 2),
        at(&job, AuditAction::Deleted, 2), // the same time: by event id
        at(&b, AuditAction::Updated, 3),
        at(&b, AuditAction::Deleted, 4),
        at(&file, AuditAction::Ingested, 5),
        at(&b, AuditAction::Deleted, -1),   // before the window
        at(&a, AuditAction::Deleted, 7200), // after it
    ];
    // Appended out of order: the answer is by time, not by append.
    for e in events.iter().rev() {
        log.append(e).await.expect("append");
    }
    let window = |q: &mut AuditQuery| {
        q.from = Some(base);
        q.until = Some(base + Duration::hours(1));
    };
    let expect = |q: &AuditQuery| {
        let mut want: Vec<&AuditEvent> = events.iter().filter(|e| q.matches(e)).collect();
        want.sort_by_key(|e| std::cmp::Reverse(AuditPosition::of(e)));
        want.truncate(q.limit as usize);
        want.into_iter().map(|e| e.event_id).collect::<Vec<_>>()
    };
    let ids = |got: Vec<AuditEvent>| got.iter().map(|e| e.event_id).collect::<Vec<_>>();

    let cases: [(&str, Option<AuditAction>, Option<EntityKind>); 5] = [
        ("everything in the window", None, None),
        ("by action", Some(AuditAction::Deleted), None),
        ("by kind of entity", None, Some(EntityKind::Book)),
        ("by both", Some(AuditAction::Deleted), Some(EntityKind::Job)),
        ("nothing matches", Some(AuditAction::Returned), None),
    ];
    for (what, action, kind) in cases {
        let mut q = AuditQuery::new(100);
        window(&mut q);
        q.action = action;
        q.entity_type = kind;
        let got = log.search(&q).await.expect("search");
        assert_eq!(ids(got.clone()), expect(&q), "{what}: newest first");
        if let Some(first) = got.first() {
            let stored = events.iter().find(|e| e.event_id == first.event_id);
            assert_eq!(Some(first), stored, "{what}: events read back unchanged");
        }
        // The same answer a page at a time, each page after the last one's end.
        for page in [1, 2, 3] {
            let mut q = q.clone();
            q.limit = page;
            let mut walked = Vec::new();
            loop {
                let got = log.search(&q).await.expect("search page");
                assert!(
                    got.len() <= page as usize,
                    "{what}: a page holds at most limit"
                );
                let Some(last) = got.last() else { break };
                q.before = Some(AuditPosition::of(last));
                walked.extend(ids(got));
                assert!(walked.len() <= events.len(), "{what}: paging ends");
            }
            let mut all = q.clone();
            all.before = None;
            all.limit = 100;
            assert_eq!(
                walked,
                expect(&all),
                "{what}: pages of {page} walk the same events"
            );
        }
    }
    // The window's ends: `from` is inclusive, `until` exclusive.
    let mut q = AuditQuery::new(100);
    q.from = Some(base + Duration::seconds(2));
    q.until = Some(base + Duration::seconds(4));
    let got = ids(log.search(&q).await.expect("search"));
    assert_eq!(got, expect(&q), "from inclusive, until exclusive");
    assert_eq!(got.len(), 3);
    // A position inside a tie: the other event of that time comes next.
    let mut q = AuditQuery::new(100);
    window(&mut q);
    q.action = Some(AuditAction::Deleted);
    let tied = [&events[2], &events[3]];
    let later = tied.iter().max_by_key(|e| e.event_id).expect("two");
    q.before = Some(AuditPosition::of(later));
    let got = ids(log.search(&q).await.expect("search"));
    assert_eq!(got, expect(&q), "a page can start inside a tie");
    assert_eq!(got.len(), 1);
    let mut q = AuditQuery::new(2);
    window(&mut q);
    assert_eq!(log.search(&q).await.expect("search").len(), 2, "limit");
}

/// A random number, without a dependency on `rand`.
fn rand_u32() -> u32 {
    let b = Uuid::new_v4().into_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The outbox contract, with the repositories that write into it: every write of
/// `books` and `rentals` that changes something stores its audit event with it, a
/// refused or no-op write stores none, and [`AuditOutbox::relay`] moves each pending
/// event exactly once into the log (`log` is where the store keeps events it does
/// not put in its outbox: itself, or a separate log).
pub async fn travels_with_writes(
    books: &dyn BookRepo,
    rentals: &dyn RentalRepo,
    log: &dyn AuditLog,
    outbox: &dyn AuditOutbox,
) {
    use crate::testkit::fixtures::{book, tag};
    let b = book(
        &format!("Outbox {}", tag()),
        "Autora",
        &tag(),
        2001,
        1000,
        1,
    );
    let entity = EntityRef::book(b.id);
    let ev = |action| event(&entity, action, 0);
    let kept = |e: &AuditEvent| e.event_id;
    let mut expected = Vec::new();

    let created = ev(AuditAction::Created);
    books.insert(&b, &created).await.expect("insert");
    expected.push(kept(&created));
    let mut twin = book("Twin", "Autora", "Contos", 2001, 1000, 1);
    twin.isbn = b.isbn.clone();
    books
        .insert(&twin, &ev(AuditAction::Created))
        .await
        .expect_err("a duplicate ISBN is refused");

    // A batch: the stored book's event travels with it, the skipped one's does not.
    let mut taken = book("Batch twin", "Autora", "Contos", 2001, 1000, 1);
    taken.isbn = b.isbn.clone();
    let fresh = book(
        &format!("Batch {}", tag()),
        "Autora",
        "Contos",
        2002,
        1000,
        1,
    );
    let (taken_entity, fresh_entity) = (EntityRef::book(taken.id), EntityRef::book(fresh.id));
    let fresh_created = event(&fresh_entity, AuditAction::Created, 0);
    let skipped = books
        .insert_batch(&[
            (taken, event(&taken_entity, AuditAction::Created, 0)),
            (fresh, fresh_created.clone()),
        ])
        .await
        .expect("insert_batch");
    assert_eq!(skipped, [0], "the book with a taken ISBN is skipped");

    let mut next = b.clone();
    next.title = "Outbox, revised".into();
    books
        .update(&next, b.version + 7, &ev(AuditAction::Updated))
        .await
        .expect_err("a stale version is refused");
    let updated = ev(AuditAction::Updated);
    books
        .update(&next, b.version, &updated)
        .await
        .expect("update");
    expected.push(kept(&updated));

    let rental = |who: &str| crate::domain::Rental {
        id: crate::domain::RentalId(Uuid::now_v7()),
        book_id: b.id,
        renter: crate::domain::Renter::parse(who).expect("renter"),
        rented_at: SystemClock.now(),
        due_date: super::reference::due(1),
        returned_at: None,
    };
    let r1 = rental("ana");
    let rented = ev(AuditAction::Rented);
    rentals.rent(&r1, &rented).await.expect("rent");
    expected.push(kept(&rented));
    rentals
        .rent(&rental("bia"), &ev(AuditAction::Rented))
        .await
        .expect_err("no copy left");
    let returned = ev(AuditAction::Returned);
    let at = SystemClock.now();
    assert!(
        rentals
            .return_rental(r1.id, at, &returned)
            .await
            .expect("return")
            .changed
    );
    expected.push(kept(&returned));
    let again = rentals
        .return_rental(r1.id, at, &ev(AuditAction::Returned))
        .await
        .expect("return again");
    assert!(!again.changed, "a second return changes nothing");

    let cover = crate::domain::BookCover {
        original: format!("uploads/{}/a.jpg", b.id),
        thumbnail: None,
    };
    let uploaded = ev(AuditAction::CoverUploaded);
    books
        .set_cover(b.id, Some(cover.clone()), None, Some(&uploaded))
        .await
        .expect("set cover");
    expected.push(kept(&uploaded));
    books
        .set_cover(
            b.id,
            Some(cover.clone()),
            Some(cover.original.clone()),
            Some(&ev(AuditAction::ThumbnailCreated)),
        )
        .await
        .expect("the same cover again");
    let superseded = books
        .set_cover(
            b.id,
            None,
            Some("uploads/other.jpg".into()),
            Some(&ev(AuditAction::ThumbnailCreated)),
        )
        .await
        .expect("superseded");
    assert_eq!(superseded, crate::ports::CoverSwap::Superseded);
    books
        .set_cover(b.id, None, None, None)
        .await
        .expect("a write without an event");
    let deleted = ev(AuditAction::Deleted);
    books.delete(b.id, None, &deleted).await.expect("delete");
    expected.push(kept(&deleted));

    // Relay into a log of its own (events already in `log` are not in the outbox).
    let relayed = crate::memory::MemoryAuditLog::default();
    while outbox.relay(&relayed, 2).await.expect("relay") > 0 {}
    assert_eq!(
        outbox.relay(&relayed, 100).await.expect("relay again"),
        0,
        "a relayed event leaves the outbox"
    );
    let mut got: Vec<EventId> = log
        .history(&entity, 100)
        .await
        .expect("history")
        .iter()
        .chain(relayed.history(&entity, 100).await.expect("relayed").iter())
        .map(kept)
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(
        got, expected,
        "exactly the events of the writes that changed something, each once"
    );
    for (entity, want) in [
        (&fresh_entity, vec![fresh_created.event_id]),
        (&taken_entity, vec![]),
    ] {
        let got: Vec<EventId> = log
            .history(entity, 10)
            .await
            .expect("history")
            .iter()
            .chain(relayed.history(entity, 10).await.expect("relayed").iter())
            .map(kept)
            .collect();
        assert_eq!(
            got, want,
            "a batch writes the events of the books it stores"
        );
    }
}

/// A log that refuses every append: relaying into it leaves the outbox as it was.
pub async fn relay_keeps_what_the_log_refuses(books: &dyn BookRepo, outbox: &dyn AuditOutbox) {
    struct Down;
    #[async_trait::async_trait]
    impl AuditLog for Down {
        async fn append(&self, _: &AuditEvent) -> Result<(), AuditLogError> {
            Err(AuditLogError::Unavailable("down".into()))
        }
        async fn history(&self, _: &EntityRef, _: u32) -> Result<Vec<AuditEvent>, AuditLogError> {
            Ok(Vec::new())
        }
        async fn search(&self, _: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError> {
            Ok(Vec::new())
        }
    }
    let b = crate::testkit::fixtures::book(
        "Down",
        "Autora",
        &crate::testkit::fixtures::tag(),
        2001,
        1,
        1,
    );
    let created = event(&EntityRef::book(b.id), AuditAction::Created, 0);
    books.insert(&b, &created).await.expect("insert");
    assert!(
        matches!(
            outbox.relay(&Down, 100).await,
            Err(AuditLogError::Unavailable(_))
        ),
        "the log's failure is reported"
    );
    let relayed = crate::memory::MemoryAuditLog::default();
    while outbox.relay(&relayed, 100).await.expect("relay") > 0 {}
    let got = relayed
        .history(&EntityRef::book(b.id), 10)
        .await
        .expect("history");
    assert_eq!(got.len(), 1, "the event stayed pending, then moved once");
    assert_eq!(got[0].event_id, created.event_id);
}
