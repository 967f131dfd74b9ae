//! The [`TaskQueue`] contract.

use std::time::{Duration, Instant};

use crate::ports::{QueueConfig, QueueError, ReceiptHandle, TaskQueue};

/// The settings a queue under test must be created with. The visibility timeout is
/// long enough that a loaded 2-core machine, stalling a case for a few seconds, does
/// not see an in-flight message come back in the middle of it.
pub const CONFIG: QueueConfig = QueueConfig {
    visibility_timeout: Duration::from_secs(4),
    max_receives: 3,
};

/// The longest a receive waits for a message that is there or on its way.
pub const ARRIVAL: Duration = Duration::from_secs(5);

/// Runs every queue case on a fresh, empty queue made with [`CONFIG`].
/// Takes a few seconds (visibility timeouts are real time).
///
/// Timing margins: a receive that expects a message waits up to [`ARRIVAL`] (it
/// returns as soon as the message is there, so this costs nothing when all is well);
/// lower bounds on waits are measured from before the call that starts them.
pub async fn run(q: &dyn TaskQueue) {
    bad_input(q).await;
    send_receive_ack(q).await;
    batches(q).await;
    visibility_and_redelivery(q).await;
    dead_letter_after_max_receives(q).await;
    long_poll(q).await;
}

/// Empty, oversized and out-of-range arguments are refused.
pub async fn bad_input(q: &dyn TaskQueue) {
    assert!(matches!(q.send("").await, Err(QueueError::InvalidInput(_))));
    let huge = "x".repeat(QueueConfig::MAX_BODY_BYTES + 1);
    assert!(matches!(
        q.send(&huge).await,
        Err(QueueError::InvalidInput(_))
    ));
    assert!(matches!(
        q.receive(0, Duration::ZERO).await,
        Err(QueueError::InvalidInput(_))
    ));
    assert!(matches!(
        q.receive(11, Duration::ZERO).await,
        Err(QueueError::InvalidInput(_))
    ));
    assert!(matches!(
        q.extend_visibility(&ReceiptHandle("no-such-receipt".into()), Duration::ZERO)
            .await,
        Err(QueueError::StaleReceipt)
    ));
}

/// Messages come back in batches with their bodies and a receive count of 1; acked
/// messages are gone.
pub async fn send_receive_ack(q: &dyn TaskQueue) {
    let bodies: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"n":{i},"s":"ação"}}"#))
        .collect();
    for b in &bodies {
        q.send(b).await.expect("send");
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let batch = q.receive(10, ARRIVAL).await.expect("receive");
        assert!(!batch.is_empty(), "sent messages must arrive");
        got.extend(batch);
    }
    let mut seen: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    seen.sort();
    assert_eq!(seen, bodies, "bodies arrive unchanged");
    assert!(
        got.iter().all(|d| d.receive_count == 1),
        "first delivery counts 1"
    );
    for d in &got {
        q.ack(&d.receipt).await.expect("ack");
        q.ack(&d.receipt).await.expect("acking twice is fine");
    }
    assert!(
        q.receive(10, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty(),
        "acked messages are gone"
    );
    let stats = q.stats().await.expect("stats");
    assert_eq!((stats.visible, stats.in_flight), (0, 0));
}

/// `send_batch` sends every body (or none when one is bad); `ack_batch` acks them all.
pub async fn batches(q: &dyn TaskQueue) {
    assert!(
        matches!(
            q.send_batch(&["ok", ""]).await,
            Err(QueueError::InvalidInput(_))
        ),
        "a bad body refuses the batch"
    );
    let bodies: Vec<String> = (0..13).map(|i| format!("batch-{i}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let ids = q.send_batch(&refs).await.expect("send_batch");
    assert_eq!(ids.len(), 13, "one id per body");
    let mut got = Vec::new();
    let started = Instant::now();
    while got.len() < 13 && started.elapsed() < 4 * ARRIVAL {
        got.extend(q.receive(10, ARRIVAL).await.expect("receive"));
    }
    let mut seen: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    seen.sort();
    let mut want = bodies.clone();
    want.sort();
    assert_eq!(
        seen, want,
        "the bad batch sent nothing; the good one arrives whole"
    );
    let receipts: Vec<_> = got.iter().map(|d| d.receipt.clone()).collect();
    q.ack_batch(&receipts).await.expect("ack_batch");
    assert!(
        q.receive(10, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty(),
        "acked in a batch"
    );
}

/// An unacked message comes back after its visibility timeout with a higher count;
/// `extend_visibility(0)` releases it at once.
pub async fn visibility_and_redelivery(q: &dyn TaskQueue) {
    q.send("redeliver-me").await.expect("send");
    let first = q.receive(1, ARRIVAL).await.expect("receive");
    assert_eq!(first.len(), 1);
    assert!(
        q.receive(1, Duration::ZERO)
            .await
            .expect("receive")
            .is_empty(),
        "hidden while in flight"
    );
    let stats = q.stats().await.expect("stats");
    assert_eq!(stats.in_flight, 1, "in-flight count");
    q.extend_visibility(&first[0].receipt, Duration::ZERO)
        .await
        .expect("release");
    // The second delivery starts its visibility timeout after this instant.
    let released = Instant::now();
    let second = q.receive(1, ARRIVAL).await.expect("receive");
    assert_eq!(second.len(), 1, "released message is delivered again");
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2, "receive count grows");
    let third = q
        .receive(1, CONFIG.visibility_timeout + ARRIVAL)
        .await
        .expect("receive");
    assert_eq!(
        third.len(),
        1,
        "the message returns after the visibility timeout"
    );
    // Half the timeout: room for stores that count it in whole seconds.
    assert!(
        released.elapsed() >= CONFIG.visibility_timeout / 2,
        "not before the timeout ({:?} after the release)",
        released.elapsed()
    );
    assert_eq!(third[0].receive_count, 3);
    q.ack(&third[0].receipt).await.expect("ack");
}

/// A message received `max_receives` times without an ack is dead-lettered.
pub async fn dead_letter_after_max_receives(q: &dyn TaskQueue) {
    q.send("poison").await.expect("send");
    for n in 1..=CONFIG.max_receives {
        let d = q.receive(1, ARRIVAL).await.expect("receive");
        assert_eq!(d.len(), 1, "delivery {n}");
        assert_eq!(d[0].receive_count, n);
        q.extend_visibility(&d[0].receipt, Duration::ZERO)
            .await
            .expect("release");
    }
    let after = q
        .receive(1, Duration::from_millis(500))
        .await
        .expect("receive");
    assert!(
        after.is_empty(),
        "a message past max_receives is not delivered again"
    );
    let stats = q.stats().await.expect("stats");
    assert_eq!(stats.dead_lettered, 1, "it sits in the dead-letter queue");
    assert_eq!((stats.visible, stats.in_flight), (0, 0));
}

/// `receive` waits for a message sent while it waits, and returns empty at the deadline.
pub async fn long_poll(q: &dyn TaskQueue) {
    let started = Instant::now();
    let none = q
        .receive(1, Duration::from_millis(700))
        .await
        .expect("receive");
    assert!(none.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "an empty receive waits"
    );
    // A wait far longer than a loaded machine takes to send and wake: returning
    // before most of it has passed can only be the wake-up.
    let wait = 4 * ARRIVAL;
    let started = Instant::now();
    let (got, _) = tokio::join!(q.receive(1, wait), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        q.send("late").await.expect("send");
    });
    let got = got.expect("receive");
    assert_eq!(
        got.len(),
        1,
        "a long poll sees a message sent while it waits"
    );
    assert!(
        started.elapsed() < wait - ARRIVAL,
        "and returns soon after it arrives (after {:?} of {wait:?})",
        started.elapsed()
    );
    q.ack(&got[0].receipt).await.expect("ack");
}
