//! Login throttling: failed logins counted per user and per client address, here
//! and in the shared cache, and the bounded number of password checks at once.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use sha2::Sha256;

use super::{tokens, Authenticator, LOGIN_WINDOW, PASSWORD_CHECK_WAIT};

impl Authenticator {
    /// Counts an attempt for these keys, before its password is checked: refused
    /// (`Err(seconds to wait)`) when one of them is at its limit on this server.
    /// Checking and counting happen under one lock, so concurrent attempts are
    /// counted one by one; a successful attempt is taken back by [`Self::succeeded`].
    pub(super) fn count_attempt(&self, keys: &[String]) -> Result<(), u64> {
        let _one_at_a_time = self.counting.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let current: Vec<(u32, Instant)> = keys
            .iter()
            .map(|k| match self.failures.get(k) {
                Some((n, since)) if now.duration_since(since) <= LOGIN_WINDOW => (n, since),
                _ => (0, now),
            })
            .collect();
        let wait = keys
            .iter()
            .zip(&current)
            .filter(|(k, (n, _))| *n >= self.limit(k))
            .filter_map(|(_, (_, since))| LOGIN_WINDOW.checked_sub(now.duration_since(*since)))
            .map(|left| left.as_secs().max(1))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (k, (n, since)) in keys.iter().zip(current) {
            self.failures.insert(k.clone(), (n + 1, since));
        }
        Ok(())
    }

    /// Counts an attempt for these keys in the shared cache (the servers behind the
    /// balancer), before its password is checked.
    pub(super) async fn count_shared_attempt(&self, keys: &[String]) {
        self.add_shared(keys, 1).await;
    }

    /// Adds `delta` to the shared counts of `keys`.
    pub(super) async fn add_shared(&self, keys: &[String], delta: i64) {
        let Some(cache) = &self.shared else { return };
        let now = tokens::now_secs();
        for k in keys {
            let key = self.failures_key(k);
            // Read, add, write: two servers counting the same key at the same
            // moment may count one attempt instead of two.
            let (n, since) = match cache.get(&key).await {
                Ok(v) => v.as_deref().and_then(parse_failures).unwrap_or((0, now)),
                Err(e) => {
                    tracing::warn!(error = %e, "shared cache: login attempt counted here only");
                    return;
                }
            };
            let (n, since) = if now.saturating_sub(since) >= LOGIN_WINDOW.as_secs() {
                (0, now)
            } else {
                (n, since)
            };
            let n = u32::try_from((i64::from(n) + delta).max(0)).unwrap_or(u32::MAX);
            let left = (since + LOGIN_WINDOW.as_secs()).saturating_sub(now).max(1);
            let value = Bytes::from(format!("{n} {since}"));
            if let Err(e) = cache.set(&key, value, Duration::from_secs(left)).await {
                tracing::warn!(error = %e, "shared cache: login attempt counted here only");
            }
        }
    }

    /// A permit to run one password check, waiting at most
    /// [`PASSWORD_CHECK_WAIT`]; `None` when every one stayed busy.
    pub(super) async fn password_check_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(PASSWORD_CHECK_WAIT, self.password_checks.acquire())
            .await
            .ok()?
            .ok()
    }

    /// A successful login: forgets the user's failures, and takes back the attempt
    /// [`Self::count_attempt`] counted for the other keys (the client's address), so
    /// successful logins never throttle an address.
    pub(super) async fn succeeded(&self, keys: &[String]) {
        let Some((user, others)) = keys.split_first() else {
            return;
        };
        {
            let _one_at_a_time = self.counting.lock().unwrap_or_else(|p| p.into_inner());
            self.failures.invalidate(user);
            for k in others {
                if let Some((n, since)) = self.failures.get(k) {
                    self.failures
                        .insert(k.clone(), (n.saturating_sub(1), since));
                }
            }
        }
        if let Some(cache) = &self.shared {
            if let Err(e) = cache.delete(&self.failures_key(user)).await {
                tracing::warn!(error = %e, "shared cache: failed logins not reset");
            }
        }
        self.add_shared(others, -1).await;
    }

    /// The shared cache's key for failed logins of a user or an address (hashed:
    /// names are the caller's text).
    pub(super) fn failures_key(&self, key: &str) -> String {
        let digest = <Sha256 as sha2::Digest>::digest(key.as_bytes());
        format!(
            "{}:failures:{}",
            self.namespace,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    }

    pub(super) fn limit(&self, key: &str) -> u32 {
        if key.starts_with("ip:") {
            self.settings.login_attempts.saturating_mul(4)
        } else {
            self.settings.login_attempts
        }
    }

    /// `Some(seconds to wait)` when one of the keys is over its limit, here or on the
    /// servers sharing the cache.
    pub(super) async fn throttled(&self, keys: &[String]) -> Option<u64> {
        let now = Instant::now();
        let here = keys
            .iter()
            .filter_map(|k| {
                let (n, since) = self.failures.get(k)?;
                let left = LOGIN_WINDOW.checked_sub(now.duration_since(since))?;
                (n >= self.limit(k)).then(|| left.as_secs().max(1))
            })
            .max();
        let Some(cache) = &self.shared else {
            return here;
        };
        let now = tokens::now_secs();
        let mut wait = here;
        for k in keys {
            match cache.get(&self.failures_key(k)).await {
                Ok(Some(v)) => {
                    if let Some((n, since)) = parse_failures(&v) {
                        let left = (since + LOGIN_WINDOW.as_secs()).saturating_sub(now);
                        if n >= self.limit(k) && left > 0 {
                            wait = wait.max(Some(left));
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "shared cache: throttling per server"),
            }
        }
        wait
    }
}

/// `"COUNT SINCE"` (failures, and the Unix second the window started).
fn parse_failures(value: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(value).ok()?;
    let (n, since) = text.split_once(' ')?;
    Some((n.parse().ok()?, since.parse().ok()?))
}
