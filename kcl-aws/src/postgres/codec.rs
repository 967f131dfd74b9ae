//! How domain values are stored: times as BIGINT microseconds since the epoch,
//! counts as BIGINT.

use chrono::{DateTime, Utc};

use kcl_core::ports::StoreError;

use super::fault::corrupt;

/// A time as stored: microseconds since the Unix epoch.
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time.
pub(super) fn time<E: StoreError>(v: i64) -> Result<DateTime<Utc>, E> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt(format!("time {v}")))
}

/// A stored non-negative count or version.
pub(super) fn unsigned<T: TryFrom<i64>, E: StoreError>(v: i64) -> Result<T, E> {
    T::try_from(v).map_err(|_| corrupt(format!("count {v}")))
}

/// Whether a text can be stored: PostgreSQL text cannot hold U+0000.
pub(super) fn storable(text: &str) -> bool {
    !text.contains('\0')
}
