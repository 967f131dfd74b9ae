//! The [`EndedSessions`] contract.
//!
//! The kit's ids are random, so it can run again on a store that holds other
//! entries; it purges entries that expired an hour ago and more, so it must not run
//! at the same time as another purge of the same store.

use chrono::{Duration, SubsecRound, Utc};

use super::fixtures::tag;
use crate::ports::{EndedSessions, EndedSessionsError, MAX_SESSION_ID_BYTES};

/// Runs every case.
pub async fn run(store: &dyn EndedSessions) {
    let id = |name: &str| format!("kit-{name}-{}", tag());
    let now = Utc::now().trunc_subsecs(6);

    // Ending and asking.
    let a = id("a");
    assert!(
        !store.is_ended(&a).await.expect("is_ended"),
        "an unknown session is not ended"
    );
    store.end(&a, now + Duration::hours(12)).await.expect("end");
    assert!(
        store.is_ended(&a).await.expect("is_ended"),
        "an ended session is ended"
    );
    store
        .end(&a, now + Duration::hours(12))
        .await
        .expect("ending a session twice is fine");
    assert!(store.is_ended(&a).await.expect("is_ended"));
    assert!(
        !store.is_ended(&id("b")).await.expect("is_ended"),
        "ending one session ends no other"
    );

    // Ids: any text of 1 to MAX_SESSION_ID_BYTES bytes without control characters,
    // stored as given.
    for odd in [
        format!("it's; DROP TABLE x; -- {}", tag()),
        format!("sessão-ünïcode-{}", tag()),
        format!("{}{}", tag(), "x".repeat(MAX_SESSION_ID_BYTES - 12)),
    ] {
        assert!(odd.len() <= MAX_SESSION_ID_BYTES);
        store
            .end(&odd, now + Duration::hours(1))
            .await
            .expect("end");
        assert!(store.is_ended(&odd).await.expect("is_ended"), "{odd:?}");
        let other = format!("{odd}-other");
        if other.len() <= MAX_SESSION_ID_BYTES {
            assert!(!store.is_ended(&other).await.expect("is_ended"));
        }
    }
    let upper = a.to_uppercase();
    assert!(
        !store.is_ended(&upper).await.expect("is_ended"),
        "ids are compared exactly (case matters)"
    );
    for bad in [
        String::new(),
        "x".repeat(MAX_SESSION_ID_BYTES + 1),
        format!("nul\0{}", tag()),
        format!("line\nbreak{}", tag()),
    ] {
        assert!(
            matches!(
                store.end(&bad, now).await,
                Err(EndedSessionsError::InvalidInput(_))
            ),
            "end refuses {bad:?}"
        );
        assert!(
            matches!(
                store.is_ended(&bad).await,
                Err(EndedSessionsError::InvalidInput(_))
            ),
            "is_ended refuses {bad:?}"
        );
    }

    // Expiry: purge removes entries at or before its time, and no others.
    let cut = now - Duration::hours(1);
    let old = id("old");
    let edge = id("edge");
    let after_edge = id("after-edge");
    let live = id("live");
    let extended = id("extended");
    let shortened = id("shortened");
    store
        .end(&old, cut - Duration::hours(1))
        .await
        .expect("end");
    store.end(&edge, cut).await.expect("end");
    store
        .end(&after_edge, cut + Duration::microseconds(1))
        .await
        .expect("end");
    store
        .end(&live, now + Duration::hours(1))
        .await
        .expect("end");
    store
        .end(&extended, cut - Duration::hours(1))
        .await
        .expect("end");
    store
        .end(&extended, now + Duration::hours(1))
        .await
        .expect("end");
    store
        .end(&shortened, now + Duration::hours(1))
        .await
        .expect("end");
    store
        .end(&shortened, cut - Duration::hours(1))
        .await
        .expect("end");
    let removed = store.purge(cut).await.expect("purge");
    assert!(
        removed >= 2,
        "purge counts what it removed (at least the kit's 2), not {removed}"
    );
    for (name, gone) in [
        (&old, true),
        (&edge, true),
        (&after_edge, false),
        (&live, false),
        (&extended, false),
        (&shortened, false),
        (&a, false),
    ] {
        assert_eq!(
            !store.is_ended(name).await.expect("is_ended"),
            gone,
            "{name}: {}",
            if gone {
                "purged at or after its expiry"
            } else {
                "kept until its expiry (ending twice keeps the later one)"
            }
        );
    }
    let removed = store.purge(now).await.expect("purge");
    assert!(removed >= 1, "the next purge removes the next expiry");
    assert!(!store.is_ended(&after_edge).await.expect("is_ended"));
    assert!(store.is_ended(&live).await.expect("is_ended"));
    assert!(store.is_ended(&a).await.expect("is_ended"));
}
