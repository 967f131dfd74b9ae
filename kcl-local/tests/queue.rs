//! The SQLite queue beyond the kit: durability, named queues, receipts, waking
//! receivers in this process and in another, concurrent receivers.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kcl_core::ports::{QueueConfig, QueueError, TaskQueue};
use kcl_local::{SqliteQueue, SqliteStore};

const SLOW: QueueConfig = QueueConfig {
    visibility_timeout: Duration::from_secs(30),
    max_receives: 2,
};

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("queue.db");
    {
        let store = open(&path).await;
        let q = SqliteQueue::new(&store, "jobs", SLOW);
        for body in ["one", "two", "three", "poison"] {
            q.send(body).await.expect("send");
        }
        let first = q.receive(1, Duration::ZERO).await.expect("receive");
        assert_eq!(first[0].body, "one", "first in, first out");
        // Dead-letter "poison" (the other messages stay put meanwhile).
        let dlq = SqliteQueue::new(
            &store,
            "jobs",
            QueueConfig {
                max_receives: 1,
                ..SLOW
            },
        );
        let mut rest = dlq.receive(10, Duration::ZERO).await.expect("receive");
        assert_eq!(rest.len(), 3);
        for d in rest.drain(..) {
            if d.body == "poison" {
                dlq.extend_visibility(&d.receipt, Duration::ZERO)
                    .await
                    .expect("release");
            } else {
                dlq.ack(&d.receipt).await.expect("ack");
            }
        }
        assert!(dlq
            .receive(10, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty());
        store.close().await;
    }
    let store = open(&path).await;
    let q = SqliteQueue::new(&store, "jobs", SLOW);
    let stats = q.stats().await.expect("stats");
    assert_eq!(
        (stats.visible, stats.in_flight, stats.dead_lettered),
        (0, 1, 1),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_messages_come_back_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("queue.db");
    let config = QueueConfig {
        visibility_timeout: Duration::from_millis(300),
        max_receives: 5,
    };
    {
        let store = open(&path).await;
        let q = SqliteQueue::new(&store, "jobs", config);
        q.send("survivor").await.expect("send");
        let got = q.receive(1, Duration::ZERO).await.expect("receive");
        assert_eq!(got.len(), 1);
        store.close().await;
    }
    let store = open(&path).await;
    let q = SqliteQueue::new(&store, "jobs", config);
    let again = q.receive(1, Duration::from_secs(3)).await.expect("receive");
    assert_eq!(
        again.len(),
        1,
        "delivered again once the visibility timeout passed"
    );
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        ("survivor", 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_queues_are_separate_and_handles_share_one() {
    let store = SqliteStore::in_memory().await.expect("open");
    let a = SqliteQueue::new(&store, "a", SLOW);
    let b = SqliteQueue::new(&store, "b", SLOW);
    let a2 = SqliteQueue::new(&store, "a", SLOW);
    assert_eq!(a.name(), "a");
    a.send("for a").await.expect("send");
    assert!(b
        .receive(10, Duration::ZERO)
        .await
        .expect("receive")
        .is_empty());
    assert_eq!(b.stats().await.expect("stats"), Default::default());
    let got = a2.receive(10, Duration::ZERO).await.expect("receive");
    assert_eq!(got.len(), 1, "another handle on the same name sees it");
    // A handle on the same queue wakes at once when the other sends.
    let started = Instant::now();
    let (got, _) = tokio::join!(a2.receive(1, Duration::from_secs(5)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.send("late").await.expect("send");
    });
    assert_eq!(got.expect("receive").len(), 1);
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_sending_is_seen_by_polling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("queue.db");
    let (here, there) = (open(&path).await, open(&path).await);
    let receiver = SqliteQueue::new(&here, "jobs", SLOW);
    let sender = SqliteQueue::new(&there, "jobs", SLOW);
    let started = Instant::now();
    let (got, _) = tokio::join!(receiver.receive(1, Duration::from_secs(5)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender.send("from afar").await.expect("send");
    });
    assert_eq!(got.expect("receive").len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_receipts_are_stale() {
    let store = SqliteStore::in_memory().await.expect("open");
    let q = SqliteQueue::new(&store, "jobs", SLOW);
    q.send("m").await.expect("send");
    let first = q
        .receive(1, Duration::ZERO)
        .await
        .expect("receive")
        .remove(0);
    q.extend_visibility(&first.receipt, Duration::ZERO)
        .await
        .expect("release");
    let second = q
        .receive(1, Duration::ZERO)
        .await
        .expect("receive")
        .remove(0);
    q.ack(&first.receipt)
        .await
        .expect("an old receipt acks nothing, quietly");
    assert_eq!(q.stats().await.expect("stats").in_flight, 1, "still there");
    assert!(matches!(
        q.extend_visibility(&first.receipt, Duration::ZERO).await,
        Err(QueueError::StaleReceipt)
    ));
    assert!(matches!(
        q.extend_visibility(&second.receipt, Duration::from_secs(13 * 3600))
            .await,
        Err(QueueError::InvalidInput(_))
    ));
    q.ack(&second.receipt).await.expect("ack");
    assert_eq!(q.stats().await.expect("stats"), Default::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receivers_share_the_messages() {
    let store = SqliteStore::in_memory().await.expect("open");
    let q = Arc::new(SqliteQueue::new(&store, "jobs", SLOW));
    for i in 0..60 {
        q.send(&format!("m{i}")).await.expect("send");
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let q = q.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let batch = q
                    .receive(7, Duration::from_millis(200))
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    return seen;
                }
                for d in batch {
                    q.ack(&d.receipt).await.expect("ack");
                    seen.push(d.body);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(
        (all.len(), distinct.len()),
        (60, 60),
        "each message delivered once"
    );
}
