//! How domain values are stored: times as BIGINT microseconds since the epoch,
//! counts as BIGINT.

pub(super) use kcl_core::adapter_support::{micros, time, unsigned};

/// Whether a text can be stored: PostgreSQL text cannot hold U+0000.
pub(super) fn storable(text: &str) -> bool {
    !text.contains('\0')
}
