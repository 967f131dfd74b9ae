//! The test services, from the environment, and the one rule for a test whose
//! service is missing: it prints `skipped: <why>` and passes, unless
//! `KCL_TEST_REQUIRE_ALL=1`, where it fails instead (CI sets it, so nothing skips
//! there unseen).
//!
//! `eval "$(scripts/services.sh start)"` sets the variables read here.
//!
//! ```
//! use kcl_core::testkit::services;
//! // A test on PostgreSQL:
//! let Some(url) = services::postgres_url() else {
//!     return; // skipped, with the reason printed
//! };
//! # let _ = url;
//! ```

use std::path::PathBuf;

/// The variable that turns every skip into a failure when it is `1`.
pub const REQUIRE_ALL: &str = "KCL_TEST_REQUIRE_ALL";
/// A PostgreSQL server's URL (`postgres://postgres@127.0.0.1:5432/postgres`): tests
/// create databases of their own on it.
pub const POSTGRES_URL: &str = "KCL_TEST_POSTGRES_URL";
/// A Redis server's URL (`redis://127.0.0.1:6379`).
pub const REDIS_URL: &str = "KCL_TEST_REDIS_URL";
/// The AWS emulator's endpoint (moto server, `http://127.0.0.1:5599`).
pub const AWS_ENDPOINT: &str = "KCL_TEST_AWS_ENDPOINT";

/// Whether `KCL_TEST_REQUIRE_ALL=1`: a missing service is then a failure.
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL).as_deref() == Ok("1")
}

/// Skips the calling test: prints `skipped: {reason}`, or panics with the reason
/// when [`require_all`]. The caller returns after it.
pub fn skip(reason: impl std::fmt::Display) {
    assert!(!require_all(), "{reason}, and {REQUIRE_ALL}=1");
    println!("skipped: {reason}");
}

/// The non-empty value of the variable `name`, or `None` after [`skip`] saying it is
/// not set.
pub fn var(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            skip(format_args!(
                "{name} is not set (eval \"$(scripts/services.sh start)\")"
            ));
            None
        }
    }
}

/// Every variable of `names`, in order, or `None` after one [`skip`] naming the
/// missing ones.
pub fn vars<const N: usize>(names: [&str; N]) -> Option<[String; N]> {
    let values = names.map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        skip(format_args!(
            "{} not set (eval \"$(scripts/services.sh start)\")",
            missing.join(", ")
        ));
        return None;
    }
    Some(values.map(|v| v.unwrap_or_default()))
}

/// [`POSTGRES_URL`], or `None` after a [`skip`].
pub fn postgres_url() -> Option<String> {
    var(POSTGRES_URL)
}

/// [`REDIS_URL`], or `None` after a [`skip`].
pub fn redis_url() -> Option<String> {
    var(REDIS_URL)
}

/// [`AWS_ENDPOINT`], or `None` after a [`skip`].
pub fn aws_endpoint() -> Option<String> {
    var(AWS_ENDPOINT)
}

/// The TLS-only servers `scripts/services.sh` starts beside the plain ones.
#[derive(Debug, Clone)]
pub struct TlsServers {
    /// A PostgreSQL that accepts TCP clients over TLS only
    /// (`KCL_TEST_POSTGRES_TLS_URL`, without `sslmode`).
    pub postgres: String,
    /// A Redis with only a TLS port (`KCL_TEST_REDIS_TLS_URL`, `rediss://`).
    pub redis: String,
    /// The CA that signed both servers' certificates (`KCL_TEST_TLS_CA`, PEM).
    pub ca: PathBuf,
    /// A CA that signed neither (`KCL_TEST_TLS_WRONG_CA`, PEM).
    pub wrong_ca: PathBuf,
}

/// The TLS servers, or `None` after a [`skip`].
pub fn tls_servers() -> Option<TlsServers> {
    let [postgres, redis, ca, wrong_ca] = vars([
        "KCL_TEST_POSTGRES_TLS_URL",
        "KCL_TEST_REDIS_TLS_URL",
        "KCL_TEST_TLS_CA",
        "KCL_TEST_TLS_WRONG_CA",
    ])?;
    Some(TlsServers {
        postgres,
        redis,
        ca: ca.into(),
        wrong_ca: wrong_ca.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named_in_the_skip() {
        // Only meaningful when the run does not require every service.
        if require_all() {
            let r = std::panic::catch_unwind(|| var("KCL_TEST_SURELY_NOT_SET_9F2C"));
            let msg = *r
                .expect_err("a missing service fails")
                .downcast::<String>()
                .unwrap();
            assert!(msg.contains("KCL_TEST_SURELY_NOT_SET_9F2C"), "{msg}");
            assert!(msg.contains(REQUIRE_ALL), "{msg}");
        } else {
            assert_eq!(var("KCL_TEST_SURELY_NOT_SET_9F2C"), None);
            assert_eq!(vars(["PATH", "KCL_TEST_SURELY_NOT_SET_9F2C"]), None);
        }
        assert!(vars(["PATH"]).is_some());
    }
}
