//! How domain values are stored: times as INTEGER microseconds since the epoch,
//! UUIDs as lowercase hyphenated text, dates as `YYYY-MM-DD` text.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use kcl_core::ports::StoreError;

use super::fault::corrupt;

/// A time as stored: microseconds since the Unix epoch.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Now, as stored.
pub(crate) fn now_micros() -> i64 {
    micros(Utc::now())
}

/// A stored time.
pub(crate) fn time<E: StoreError>(v: i64) -> Result<DateTime<Utc>, E> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(format!("time {v}")))
}

/// A stored UUID.
pub(crate) fn uuid<E: StoreError>(v: &str) -> Result<Uuid, E> {
    Uuid::parse_str(v).map_err(|_| corrupt(format!("uuid {v:?}")))
}

/// A date as stored.
pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored date.
pub(crate) fn date<E: StoreError>(v: &str) -> Result<NaiveDate, E> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| corrupt(format!("date {v:?}")))
}

/// A stored non-negative count or version.
pub(crate) fn unsigned<T: TryFrom<i64>, E: StoreError>(v: i64) -> Result<T, E> {
    T::try_from(v).map_err(|_| corrupt(format!("count {v}")))
}
