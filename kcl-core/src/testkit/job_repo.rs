//! The [`JobRepo`] contract.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::domain::{ItemId, ItemResult, ItemStatus, Job, JobId, JobItem, StatusCounts};
use crate::ports::{Clock, ItemStart, JobRepo, JobRepoError, SystemClock};

/// A job named `name` created at `at`, with `n` items (the last `dups` of them
/// duplicates of the first), expiring `ttl` after `at`.
pub fn job(
    name: &str,
    at: DateTime<Utc>,
    n: usize,
    dups: usize,
    ttl: Duration,
) -> (Job, Vec<JobItem>) {
    let id = JobId(Uuid::new_v4());
    let job = Job {
        id,
        name: name.to_owned(),
        created_at: at,
        updated_at: at,
    };
    let mut items: Vec<JobItem> = Vec::new();
    for i in 0..n {
        let item = ItemId(Uuid::new_v4());
        let dup = i >= n - dups && i > 0;
        items.push(JobItem {
            id: item,
            job_id: id,
            key: format!("jobs/{id}/{item}.png"),
            content_hash: if dup { "h0".into() } else { format!("h{i}") },
            duplicate_of: dup.then(|| items[0].id),
            status: ItemStatus::Pending,
            text: None,
            confidence: None,
            error: None,
            created_at: at,
            expires_at: at + ttl,
            updated_at: at,
        });
    }
    (job, items)
}

/// Runs every job-store case. `repo` may hold other data (the cases use fresh ids).
pub async fn run(repo: Arc<dyn JobRepo>) {
    create_get_delete(repo.as_ref()).await;
    list_pages_and_counts(repo.as_ref()).await;
    item_lifecycle(repo.as_ref()).await;
    duplicates_share_a_result(repo.as_ref()).await;
    expiry(repo.as_ref()).await;
    one_winner(repo.clone()).await;
    a_job_recorded_meanwhile_is_started(repo.clone()).await;
    an_empty_job_and_a_page_past_the_end(repo.as_ref()).await;
}

fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// What is stored reads back unchanged; delete removes job and items.
pub async fn create_get_delete(repo: &dyn JobRepo) {
    let (j, items) = job("Notas fiscais ✓", now(), 3, 0, Duration::days(2));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    let (got, got_items) = repo.get(j.id).await.expect("get");
    assert_eq!(got, j, "the job reads back unchanged");
    assert_eq!(
        got_items, items,
        "items read back unchanged, in creation order"
    );
    assert!(
        matches!(
            repo.create(&j, &items, &crate::testkit::fixtures::event())
                .await,
            Err(JobRepoError::Duplicate(_))
        ),
        "the same job twice is Duplicate"
    );
    let renamed = repo
        .rename(j.id, "Recibos", now(), &crate::testkit::fixtures::event())
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Recibos");
    assert_eq!(repo.get(j.id).await.expect("get").0.name, "Recibos");
    let (gone, gone_items) = repo
        .delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
    assert_eq!((gone.id, gone_items.len()), (j.id, 3));
    assert!(matches!(
        repo.get(j.id).await,
        Err(JobRepoError::NotFound(_))
    ));
    assert!(matches!(
        repo.delete(j.id, &crate::testkit::fixtures::event()).await,
        Err(JobRepoError::NotFound(_))
    ));
    assert!(matches!(
        repo.rename(j.id, "x", now(), &crate::testkit::fixtures::event())
            .await,
        Err(JobRepoError::NotFound(_))
    ));
    assert_eq!(
        repo.start_item(j.id, items[0].id, now(), &crate::testkit::fixtures::event())
            .await
            .expect("start"),
        ItemStart::Gone,
        "a task for a deleted job finds nothing"
    );
    assert_eq!(
        repo.finish_item(
            j.id,
            items[0].id,
            &ItemResult::Error("x".into()),
            now(),
            &crate::testkit::fixtures::event()
        )
        .await
        .expect("finish"),
        0
    );
}

/// Pages are newest first with per-status counts and the total.
pub async fn list_pages_and_counts(repo: &dyn JobRepo) {
    // Far in the future, so these are the newest jobs whatever else the store holds.
    let base = now() + Duration::days(3650);
    let mut ids = Vec::new();
    for k in 0..5 {
        let (j, items) = job(
            &format!("page {k}"),
            base + Duration::seconds(k),
            2,
            0,
            Duration::days(2),
        );
        repo.create(&j, &items, &crate::testkit::fixtures::event())
            .await
            .expect("create");
        ids.push((j.id, items));
    }
    let (newest, items) = &ids[4];
    repo.start_item(
        *newest,
        items[0].id,
        now(),
        &crate::testkit::fixtures::event(),
    )
    .await
    .expect("start");
    repo.finish_item(
        *newest,
        items[0].id,
        &ItemResult::Done {
            text: "ok".into(),
            confidence: 90.0,
        },
        now(),
        &crate::testkit::fixtures::event(),
    )
    .await
    .expect("finish");
    let first = repo.list(0, 2).await.expect("list");
    assert!(first.total >= 5, "total counts every job");
    let names: Vec<_> = first.jobs.iter().map(|(j, _)| j.name.as_str()).collect();
    assert_eq!(names, ["page 4", "page 3"], "newest first");
    assert_eq!(
        first.jobs[0].1,
        StatusCounts {
            pending: 1,
            done: 1,
            ..Default::default()
        },
        "per-status counts"
    );
    let second = repo.list(2, 2).await.expect("list");
    let names: Vec<_> = second.jobs.iter().map(|(j, _)| j.name.as_str()).collect();
    assert_eq!(names, ["page 2", "page 1"], "offset pages");
    for (id, _) in ids {
        repo.delete(id, &crate::testkit::fixtures::event())
            .await
            .expect("delete");
    }
}

/// PENDING → PROCESSING → DONE | ERROR; a final item is never changed again.
pub async fn item_lifecycle(repo: &dyn JobRepo) {
    let (j, items) = job("lifecycle", now(), 2, 0, Duration::days(2));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    let (a, b) = (items[0].id, items[1].id);
    let ItemStart::Started(started) = repo
        .start_item(j.id, a, now(), &crate::testkit::fixtures::event())
        .await
        .expect("start")
    else {
        panic!("a pending item starts");
    };
    assert_eq!(started.status, ItemStatus::Processing);
    assert!(
        matches!(
            repo.start_item(j.id, a, now(), &crate::testkit::fixtures::event())
                .await
                .expect("start"),
            ItemStart::Started(_)
        ),
        "a processing item restarts (its worker died)"
    );
    let done = ItemResult::Done {
        text: "Olá, mundo\nsegunda linha".into(),
        confidence: 87.5,
    };
    assert_eq!(
        repo.finish_item(j.id, a, &done, now(), &crate::testkit::fixtures::event())
            .await
            .expect("finish"),
        1
    );
    assert_eq!(
        repo.finish_item(
            j.id,
            a,
            &ItemResult::Error("late".into()),
            now(),
            &crate::testkit::fixtures::event()
        )
        .await
        .expect("finish"),
        0,
        "a final item is not overwritten"
    );
    assert!(matches!(
        repo.start_item(j.id, a, now(), &crate::testkit::fixtures::event())
            .await
            .expect("start"),
        ItemStart::Final(_)
    ));
    // An item can fail straight from PENDING (an unreadable image).
    assert_eq!(
        repo.finish_item(
            j.id,
            b,
            &ItemResult::Error("truncated image".into()),
            now(),
            &crate::testkit::fixtures::event()
        )
        .await
        .expect("finish"),
        1
    );
    let (_, got) = repo.get(j.id).await.expect("get");
    assert_eq!(got[0].status, ItemStatus::Done);
    assert_eq!(got[0].text.as_deref(), Some("Olá, mundo\nsegunda linha"));
    assert_eq!(got[0].confidence, Some(87.5));
    assert_eq!(got[1].status, ItemStatus::Error);
    assert_eq!(got[1].error.as_deref(), Some("truncated image"));
    assert!(got[1].text.is_none());
    repo.delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// Finishing an item finishes its unfinished duplicates with the same result.
pub async fn duplicates_share_a_result(repo: &dyn JobRepo) {
    let (j, items) = job("dups", now(), 3, 2, Duration::days(2));
    assert_eq!(items[1].duplicate_of, Some(items[0].id));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    let done = ItemResult::Done {
        text: "same".into(),
        confidence: 50.0,
    };
    assert_eq!(
        repo.finish_item(
            j.id,
            items[0].id,
            &done,
            now(),
            &crate::testkit::fixtures::event()
        )
        .await
        .expect("finish"),
        3,
        "the item and its two duplicates"
    );
    let (_, got) = repo.get(j.id).await.expect("get");
    assert!(got
        .iter()
        .all(|i| i.status == ItemStatus::Done && i.text.as_deref() == Some("same")));
    repo.delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// Unfinished items past their deadline become EXPIRED; finished ones stay.
pub async fn expiry(repo: &dyn JobRepo) {
    let past = now() - Duration::days(3);
    let (j, items) = job("old", past, 3, 0, Duration::days(2));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    repo.start_item(j.id, items[1].id, now(), &crate::testkit::fixtures::event())
        .await
        .expect("start");
    repo.finish_item(
        j.id,
        items[2].id,
        &ItemResult::Done {
            text: "in time".into(),
            confidence: 99.0,
        },
        now(),
        &crate::testkit::fixtures::event(),
    )
    .await
    .expect("finish");
    let (fresh, fresh_items) = job("fresh", now(), 1, 0, Duration::days(2));
    repo.create(&fresh, &fresh_items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    assert!(
        repo.expire(now(), &|_, _| crate::testkit::fixtures::event())
            .await
            .expect("expire")
            >= 2
    );
    let (_, got) = repo.get(j.id).await.expect("get");
    let statuses: Vec<_> = got.iter().map(|i| i.status).collect();
    assert_eq!(
        statuses,
        [ItemStatus::Expired, ItemStatus::Expired, ItemStatus::Done],
        "pending and processing items expire; done ones stay"
    );
    assert_eq!(got[0].error.as_deref(), Some(JobItem::EXPIRED_MESSAGE));
    assert_eq!(StatusCounts::of(statuses).job_status(), ItemStatus::Expired);
    assert_eq!(
        repo.finish_item(
            j.id,
            items[0].id,
            &ItemResult::Done {
                text: "too late".into(),
                confidence: 1.0
            },
            now(),
            &crate::testkit::fixtures::event()
        )
        .await
        .expect("finish"),
        0,
        "an expired item stays expired"
    );
    assert_eq!(
        repo.get(fresh.id).await.expect("get").1[0].status,
        ItemStatus::Pending,
        "an item within its deadline does not expire"
    );
    repo.delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
    repo.delete(fresh.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// Twenty concurrent workers finishing the same item: exactly one changes it.
pub async fn one_winner(repo: Arc<dyn JobRepo>) {
    let (j, items) = job("race", now(), 1, 0, Duration::days(2));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for k in 0..20 {
        let (repo, jid, iid) = (repo.clone(), j.id, items[0].id);
        tasks.push(tokio::spawn(async move {
            repo.finish_item(
                jid,
                iid,
                &ItemResult::Done {
                    text: format!("worker {k}"),
                    confidence: 1.0,
                },
                now(),
                &crate::testkit::fixtures::event(),
            )
            .await
            .expect("finish")
        }));
    }
    let mut changed = 0;
    for t in tasks {
        changed += t.await.expect("task");
    }
    assert_eq!(changed, 1, "exactly one worker's result is kept");
    repo.delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// A worker may start an item while its job is being recorded (tasks are queued
/// first): `start_item` answers `Gone` before the job commits and `Started` after,
/// never `Final` for an item that is still PENDING (which would drop its task and
/// leave the item waiting forever).
pub async fn a_job_recorded_meanwhile_is_started(repo: Arc<dyn JobRepo>) {
    for round in 0..30 {
        let (j, items) = job("recorded meanwhile", now(), 1, 0, Duration::days(2));
        let (jid, iid) = (j.id, items[0].id);
        let worker = {
            let repo = repo.clone();
            tokio::spawn(async move {
                loop {
                    match repo
                        .start_item(jid, iid, now(), &crate::testkit::fixtures::event())
                        .await
                        .expect("start")
                    {
                        ItemStart::Gone => tokio::task::yield_now().await,
                        other => return other,
                    }
                }
            })
        };
        // Let the worker's first tries miss, then record the job under them.
        tokio::time::sleep(std::time::Duration::from_millis(round % 5)).await;
        repo.create(&j, &items, &crate::testkit::fixtures::event())
            .await
            .expect("create");
        match worker.await.expect("worker") {
            ItemStart::Started(item) => assert_eq!(item.status, ItemStatus::Processing),
            other => panic!("round {round}: an item recorded meanwhile was not started: {other:?}"),
        }
        repo.delete(j.id, &crate::testkit::fixtures::event())
            .await
            .expect("delete");
    }
}

/// A job without items reads back without items and lists as the newest with no
/// counts; a page past the end is empty and still has the total.
pub async fn an_empty_job_and_a_page_past_the_end(repo: &dyn JobRepo) {
    // Far in the future, so it is the newest job whatever else the store holds.
    let (empty, _) = job(
        "empty",
        now() + Duration::days(7300),
        0,
        0,
        Duration::days(1),
    );
    repo.create(&empty, &[], &crate::testkit::fixtures::event())
        .await
        .expect("create");
    assert!(repo.get(empty.id).await.expect("get").1.is_empty());
    let page = repo.list(0, 10).await.expect("list");
    assert_eq!(page.jobs.len() as u64, page.total.min(10), "a full page");
    assert_eq!(page.jobs[0].0.id, empty.id, "the empty job is the newest");
    assert_eq!(page.jobs[0].1.total(), 0);
    let past = repo.list(page.total + 3, 10).await.expect("list");
    assert_eq!((past.total, past.jobs.len()), (page.total, 0));
    repo.delete(empty.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// Every item transition stores its event with it, and only a transition does: a
/// start, a finish, a late finish (nothing changed, nothing stored), an expiry.
/// `audit` is where the store's events end up (`outbox` is relayed into it first,
/// for stores that keep them there until then).
pub async fn transitions_reach_the_history(
    repo: &dyn JobRepo,
    outbox: &dyn crate::ports::AuditOutbox,
    audit: &dyn crate::ports::AuditLog,
) {
    use crate::domain::{AuditAction, AuditEvent, EntityRef, EventId};
    let (j, items) = job("Cupons", now(), 2, 0, Duration::hours(1));
    repo.create(&j, &items, &crate::testkit::fixtures::event())
        .await
        .expect("create");
    let event = |action: AuditAction, item: ItemId| AuditEvent {
        event_id: EventId(Uuid::now_v7()),
        action,
        entity: EntityRef::job(j.id),
        data: serde_json::json!({ "item": item }),
        occurred_at: now(),
    };
    let (a, b) = (items[0].id, items[1].id);
    let processing = event(AuditAction::ItemProcessing, a);
    assert!(matches!(
        repo.start_item(j.id, a, now(), &processing)
            .await
            .expect("start"),
        ItemStart::Started(_)
    ));
    let done = event(AuditAction::ItemDone, a);
    let read = ItemResult::Done {
        text: "R$ 10,00".into(),
        confidence: 0.9,
    };
    assert_eq!(
        repo.finish_item(j.id, a, &read, now(), &done)
            .await
            .expect("finish"),
        1
    );
    let late = event(AuditAction::ItemError, a);
    assert_eq!(
        repo.finish_item(j.id, a, &ItemResult::Error("late".into()), now(), &late)
            .await
            .expect("late finish"),
        0
    );
    let expired = repo
        // Other jobs of the store may expire too; their events go to their jobs.
        .expire(now() + Duration::hours(2), &|job, item| AuditEvent {
            entity: EntityRef::job(job),
            ..event(AuditAction::ItemExpired, item)
        })
        .await
        .expect("expire");
    assert!(expired >= 1, "b expired");
    while outbox.relay(audit, 100).await.expect("relay") > 0 {}
    let history = audit
        .history(&EntityRef::job(j.id), 100)
        .await
        .expect("history");
    let logged: Vec<(AuditAction, serde_json::Value)> = history
        .iter()
        .filter(|e| e.action != AuditAction::Updated)
        .map(|e| (e.action, e.data["item"].clone()))
        .collect();
    let id = |i: ItemId| serde_json::json!(i);
    assert_eq!(
        logged,
        [
            (AuditAction::ItemProcessing, id(a)),
            (AuditAction::ItemDone, id(a)),
            (AuditAction::ItemExpired, id(b)),
        ],
        "{history:?}"
    );
    assert!(history.iter().all(|e| e.event_id != late.event_id));
    repo.delete(j.id, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}
