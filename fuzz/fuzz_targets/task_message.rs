//! Any queue message body given to the task decoder (KCL's own message or an S3 event
//! notification): a typed error is fine, a panic is not; a decoded key round-trips.
#![no_main]

use kcl_core::domain::{CoverKey, TaskMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(TaskMessage::Thumbnails(tasks)) = TaskMessage::decode(body) {
        for t in tasks {
            if let Some(k) = CoverKey::parse_original(&t.key) {
                assert!(t.key.starts_with("uploads/"));
                assert_eq!(k.book_id.to_string().len(), 36);
            }
        }
    }
});
