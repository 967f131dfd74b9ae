//! The cache kit on a real Redis server (`KCL_TEST_REDIS_URL`, for example
//! `redis://127.0.0.1:6379`); skipped when unset unless `KCL_TEST_REQUIRE_ALL=1`.

use kcl_aws::RedisCache;
use kcl_core::ports::HealthProbe;
use kcl_core::testkit;

async fn cache() -> Option<RedisCache> {
    let url = testkit::services::redis_url()?;
    Some(
        RedisCache::connect(&url)
            .await
            .expect("connect to the test Redis"),
    )
}

#[tokio::test]
async fn cache_kit() {
    let Some(cache) = cache().await else { return };
    testkit::cache::run(&cache).await;
    assert_eq!(cache.check().await, Ok(()), "the probe answers");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_at_connect() {
    let err = RedisCache::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
    let bad = RedisCache::connect("http://nope").await.unwrap_err();
    assert!(bad.to_string().contains("bad Redis URL"), "{bad}");
}
