//! TLS to PostgreSQL and Redis, against the servers `scripts/services.sh` starts
//! with a CA of its own: a PostgreSQL that accepts TCP clients over TLS only
//! (`KCL_TEST_POSTGRES_TLS_URL`), a Redis with only a TLS port
//! (`KCL_TEST_REDIS_TLS_URL`), the CA that signed both (`KCL_TEST_TLS_CA`) and an
//! unrelated one (`KCL_TEST_TLS_WRONG_CA`). Skipped when unset, unless
//! `KCL_TEST_REQUIRE_ALL=1`.

use kcl_aws::{PgStore, RedisCache};
use kcl_core::ports::{Cache, HealthProbe};

use kcl_core::testkit::services::tls_servers as tls;

/// `url` with a password (the server trusts anyone: it is only there to be hidden)
/// and the given query.
fn pg_url(base: &str, query: &str) -> String {
    let with_password = base.replacen("postgres@", "postgres:hunter2-secret@", 1);
    format!("{with_password}?{query}")
}

#[tokio::test]
async fn postgres_verify_full_with_the_right_ca_connects_over_tls() {
    let Some(t) = tls() else { return };
    let url = pg_url(
        &t.postgres,
        &format!("sslmode=verify-full&sslrootcert={}", t.ca.display()),
    );
    let store = PgStore::connect(&url).await.expect("verify-full connects");
    let (ssl, version): (bool, String) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(ssl, "the session is encrypted");
    assert!(version.starts_with("TLSv1."), "{version}");
    // The repositories work over it (the migrations ran through TLS too).
    let probe = kcl_aws::PgProbe::new(&store);
    assert_eq!(probe.check().await, Ok(()));
    store.close().await;
}

#[tokio::test]
async fn postgres_require_encrypts_without_checking_the_name() {
    let Some(t) = tls() else { return };
    let store = PgStore::connect(&pg_url(&t.postgres, "sslmode=require"))
        .await
        .expect("sslmode=require connects");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(ssl);
    store.close().await;
}

#[tokio::test]
async fn postgres_with_a_wrong_ca_or_without_tls_fails_at_connect_and_hides_the_password() {
    let Some(t) = tls() else { return };
    let wrong = pg_url(
        &t.postgres,
        &format!("sslmode=verify-full&sslrootcert={}", t.wrong_ca.display()),
    );
    let e = PgStore::connect(&wrong).await.unwrap_err().to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    // The server accepts TCP clients over TLS only.
    let e = PgStore::connect(&pg_url(&t.postgres, "sslmode=disable"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no encryption") || e.contains("pg_hba"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    // A CA file that is missing, or not a certificate: named, at once.
    let e = PgStore::connect(&pg_url(
        &t.postgres,
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let e = PgStore::connect(&pg_url(
        &t.postgres,
        &format!("sslmode=verify-full&sslrootcert={}", junk.display()),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("no PEM certificate"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

#[tokio::test]
async fn redis_over_tls_with_the_right_ca_works() {
    let Some(t) = tls() else { return };
    assert!(t.redis.starts_with("rediss://"), "{}", t.redis);
    let cache = RedisCache::connect_with_ca(&t.redis, &t.ca)
        .await
        .expect("rediss:// with the test CA connects");
    kcl_core::testkit::cache::run(&cache).await;
    assert_eq!(cache.check().await, Ok(()));
    cache
        .set(
            "tls-probe",
            "over tls".into(),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(
        cache.get("tls-probe").await.unwrap().as_deref(),
        Some(&b"over tls"[..])
    );
}

#[tokio::test]
async fn redis_with_a_wrong_ca_or_the_public_roots_fails_at_connect() {
    let Some(t) = tls() else { return };
    let with_password = t
        .redis
        .replacen("rediss://", "rediss://:hunter2-secret@", 1);
    let e = RedisCache::connect_with_ca(&with_password, &t.wrong_ca)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    // The test CA is not a public root.
    let e = RedisCache::connect(&t.redis).await.unwrap_err().to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // A CA with a plain URL is a configuration error.
    let e = RedisCache::connect_with_ca("redis://127.0.0.1:6379", &t.ca)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("rediss://"), "{e}");
    // A plain client on the TLS port does not get in.
    let plain = t.redis.replacen("rediss://", "redis://", 1);
    assert!(RedisCache::connect(&plain).await.is_err());
}
