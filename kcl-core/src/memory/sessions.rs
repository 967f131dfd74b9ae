use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::{check_session_id, EndedSessions, EndedSessionsError};

/// Ended sessions in this process's memory: lost when it stops, like every other
/// in-memory store (so are the users' sessions' data). Entries are removed by
/// [`purge`](EndedSessions::purge).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use chrono::{Duration, Utc};
/// use kcl_core::memory::MemoryEndedSessions;
/// use kcl_core::ports::EndedSessions;
///
/// let ended = MemoryEndedSessions::default();
/// let now = Utc::now();
/// ended.end("sid-1", now + Duration::hours(12)).await.unwrap();
/// assert!(ended.is_ended("sid-1").await.unwrap());
/// assert!(!ended.is_ended("sid-2").await.unwrap());
/// // Twelve hours on, the session would have expired: its entry goes.
/// assert_eq!(ended.purge(now + Duration::hours(12)).await.unwrap(), 1);
/// assert!(!ended.is_ended("sid-1").await.unwrap());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryEndedSessions {
    ended: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl MemoryEndedSessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EndedSessions for MemoryEndedSessions {
    async fn end(&self, id: &str, expires_at: DateTime<Utc>) -> Result<(), EndedSessionsError> {
        check_session_id(id)?;
        let mut map = self.map();
        let at = map.entry(id.to_owned()).or_insert(expires_at);
        *at = (*at).max(expires_at);
        Ok(())
    }

    async fn is_ended(&self, id: &str) -> Result<bool, EndedSessionsError> {
        check_session_id(id)?;
        Ok(self.map().contains_key(id))
    }

    async fn purge(&self, now: DateTime<Utc>) -> Result<u64, EndedSessionsError> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, expires_at| *expires_at > now);
        Ok((before - map.len()) as u64)
    }
}
