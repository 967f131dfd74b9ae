//! The TLS-only servers `scripts/services.sh` starts, from the environment: a
//! PostgreSQL that accepts TCP clients over TLS only (`KCL_TEST_POSTGRES_TLS_URL`), a
//! Redis with only a TLS port (`KCL_TEST_REDIS_TLS_URL`), the CA that signed both
//! (`KCL_TEST_TLS_CA`) and an unrelated one (`KCL_TEST_TLS_WRONG_CA`). Shared by
//! kcl-aws's and the facade's tests (`#[path = ...] mod tls_env;`).

use std::path::PathBuf;

/// The servers and CA files.
pub(crate) struct Tls {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`, without `sslmode`.
    pub(crate) pg: String,
    /// `rediss://127.0.0.1:PORT`.
    pub(crate) redis: String,
    /// The CA that signed both servers' certificates (PEM).
    pub(crate) ca: PathBuf,
    /// A CA that signed neither (PEM).
    pub(crate) wrong_ca: PathBuf,
}

/// The TLS servers, or `None` (the test skips, saying why) when they are not set;
/// a panic when `KCL_TEST_REQUIRE_ALL=1`.
pub(crate) fn tls() -> Option<Tls> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        var("KCL_TEST_POSTGRES_TLS_URL"),
        var("KCL_TEST_REDIS_TLS_URL"),
        var("KCL_TEST_TLS_CA"),
        var("KCL_TEST_TLS_WRONG_CA"),
    ) {
        (Some(pg), Some(redis), Some(ca), Some(wrong_ca)) => Some(Tls {
            pg,
            redis,
            ca: ca.into(),
            wrong_ca: wrong_ca.into(),
        }),
        _ => {
            assert!(
                std::env::var("KCL_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
                "the TLS servers are not set (KCL_TEST_POSTGRES_TLS_URL, KCL_TEST_REDIS_TLS_URL, \
                 KCL_TEST_TLS_CA, KCL_TEST_TLS_WRONG_CA; scripts/services.sh start) and \
                 KCL_TEST_REQUIRE_ALL=1"
            );
            println!("skipped: the TLS servers of scripts/services.sh are not set");
            None
        }
    }
}
