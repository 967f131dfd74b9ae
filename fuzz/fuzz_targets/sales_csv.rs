//! Any bytes given to the sales CSV validator: a file error or a summary is fine; a
//! panic, a hang, or counts that do not add up are not.
#![no_main]

use chrono::NaiveDate;
use kcl_core::domain::{SalesReader, ValidateOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    let mut options = ValidateOptions::new(today);
    options.max_record_bytes = 4096;
    options.max_duplicate_keys = 64;
    let Ok(mut reader) = SalesReader::new(data, options) else {
        return;
    };
    let (mut valid, mut rejected) = (0u64, 0u64);
    for item in &mut reader {
        match item {
            Ok(Ok(row)) => {
                valid += 1;
                assert!(row.quantity.thousandths() > 0);
                assert!(row.sale_date <= today);
            }
            Ok(Err(e)) => {
                rejected += 1;
                assert!(!e.code.is_empty());
                assert!(e.raw.chars().count() <= kcl_core::domain::MAX_RAW_CHARS);
            }
            Err(_) => break,
        }
    }
    let s = reader.summary();
    assert_eq!(s.rows_total, s.rows_valid + s.rows_rejected);
    assert_eq!((s.rows_valid, s.rows_rejected), (valid, rejected));
    assert!(s.errors.len() <= 100);
});
