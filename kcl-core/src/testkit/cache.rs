//! The [`Cache`] contract.

use std::time::Duration;

use bytes::Bytes;

use super::fixtures::tag;
use crate::ports::Cache;

/// Runs every cache case (one of them sleeps about 1.2 s to see a TTL expire).
pub async fn run(cache: &dyn Cache) {
    let key = format!("kit:{}", tag());
    assert_eq!(cache.get(&key).await.expect("get"), None);
    cache
        .set(&key, Bytes::from_static(b"v1"), Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        cache.get(&key).await.expect("get").as_deref(),
        Some(&b"v1"[..])
    );
    cache
        .set(&key, Bytes::from_static(b"v2"), Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        cache.get(&key).await.expect("get").as_deref(),
        Some(&b"v2"[..]),
        "set replaces"
    );
    cache.delete(&key).await.expect("delete");
    assert_eq!(
        cache.get(&key).await.expect("get"),
        None,
        "nothing is served after delete"
    );
    cache
        .delete(&key)
        .await
        .expect("deleting a missing key is fine");
    let short = format!("kit:{}", tag());
    cache
        .set(&short, Bytes::from_static(b"x"), Duration::from_secs(1))
        .await
        .expect("set");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        cache.get(&short).await.expect("get"),
        None,
        "entries expire after their TTL"
    );
}
