//! How domain values are stored: times as INTEGER microseconds since the epoch,
//! UUIDs as lowercase hyphenated text, dates as `YYYY-MM-DD` text.

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

pub(crate) use kcl_core::adapter_support::{micros, time, unsigned};
use kcl_core::ports::StoreError;

use super::fault::corrupt;

/// Now, as stored.
pub(crate) fn now_micros() -> i64 {
    micros(Utc::now())
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
