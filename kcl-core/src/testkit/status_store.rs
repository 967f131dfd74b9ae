//! The [`StatusStore`] contract.

use std::sync::Arc;

use uuid::Uuid;

use crate::ports::{
    Clock, ProcessingState::*, ProcessingStatus, StatusCondition, StatusStore, StatusStoreError,
    SystemClock,
};

/// Runs every status-store case.
pub async fn run(store: Arc<dyn StatusStore>) {
    bad_input(store.as_ref()).await;
    round_trip(store.as_ref()).await;
    conditions(store.as_ref()).await;
    one_winner(store).await;
}

fn fresh_key() -> String {
    format!("uploads/{}/ação ✓.jpg", Uuid::new_v4())
}

/// Empty, oversized and control-character keys are refused.
pub async fn bad_input(store: &dyn StatusStore) {
    let now = SystemClock.now();
    for key in [String::new(), "x".repeat(1025), "a\nb".to_owned()] {
        assert!(
            matches!(
                store.get(&key).await,
                Err(StatusStoreError::InvalidInput(_))
            ),
            "get {key:?}"
        );
        let st = ProcessingStatus::new(key.clone(), Pending, "", now);
        assert!(
            matches!(
                store.put(&st, StatusCondition::Always).await,
                Err(StatusStoreError::InvalidInput(_))
            ),
            "put {key:?}"
        );
    }
}

/// What is written is read back unchanged; delete forgets it.
pub async fn round_trip(store: &dyn StatusStore) {
    let key = fresh_key();
    assert_eq!(store.get(&key).await.expect("get"), None, "unknown key");
    let st = ProcessingStatus::new(
        key.clone(),
        Error,
        "corrupt image: ação \"quoted\" ✓",
        SystemClock.now(),
    );
    assert!(store.put(&st, StatusCondition::Always).await.expect("put"));
    assert_eq!(store.get(&key).await.expect("get"), Some(st.clone()));
    let long = ProcessingStatus::new(key.clone(), Error, "é".repeat(5000), SystemClock.now());
    assert!(long.message.len() <= ProcessingStatus::MAX_MESSAGE_BYTES);
    assert!(store
        .put(&long, StatusCondition::Always)
        .await
        .expect("put"));
    assert_eq!(store.get(&key).await.expect("get"), Some(long));
    store.delete(&key).await.expect("delete");
    store.delete(&key).await.expect("deleting twice is fine");
    assert_eq!(store.get(&key).await.expect("get"), None, "deleted");
}

/// Each condition writes exactly when it holds.
pub async fn conditions(store: &dyn StatusStore) {
    let key = fresh_key();
    let at = |s| ProcessingStatus::new(key.clone(), s, format!("{s}"), SystemClock.now());
    assert!(
        !store
            .put(&at(Done), StatusCondition::In(&[Pending]))
            .await
            .expect("put"),
        "In does not match a missing status"
    );
    assert_eq!(store.get(&key).await.expect("get"), None);
    assert!(store
        .put(&at(Pending), StatusCondition::Absent)
        .await
        .expect("put"));
    assert!(
        !store
            .put(&at(Pending), StatusCondition::Absent)
            .await
            .expect("put"),
        "Absent fails once a status exists"
    );
    assert!(store
        .put(&at(Processing), StatusCondition::AbsentOrIn(&[Pending]))
        .await
        .expect("put"));
    assert!(store
        .put(&at(Done), StatusCondition::In(&[Pending, Processing]))
        .await
        .expect("put"));
    let late = at(Error);
    assert!(
        !store
            .put(&late, StatusCondition::In(&[Pending, Processing]))
            .await
            .expect("put"),
        "a final status is not overwritten by a late worker"
    );
    let got = store.get(&key).await.expect("get").expect("present");
    assert_eq!((got.status, got.message.as_str()), (Done, "DONE"));
    assert!(store
        .put(&at(Pending), StatusCondition::Always)
        .await
        .expect("put"));
    assert_eq!(
        store.get(&key).await.expect("get").map(|s| s.status),
        Some(Pending),
        "Always overwrites"
    );
}

/// Twenty concurrent conditional writers over one pending status: exactly one wins.
pub async fn one_winner(store: Arc<dyn StatusStore>) {
    let key = fresh_key();
    let pending = ProcessingStatus::new(key.clone(), Pending, "", SystemClock.now());
    assert!(store
        .put(&pending, StatusCondition::Always)
        .await
        .expect("put"));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let st = ProcessingStatus::new(key, Done, format!("worker {i}"), SystemClock.now());
            store
                .put(&st, StatusCondition::In(&[Pending]))
                .await
                .expect("put")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("task") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one conditional writer wins");
}
