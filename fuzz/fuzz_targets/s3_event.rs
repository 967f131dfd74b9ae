//! Any bytes given to every reader of S3 event notifications (and the SQS batches
//! that carry them), over a fresh in-memory backend holding a book, an uploaded
//! cover original and a sales file under `sales/incoming/`:
//!
//! - `TaskMessage::decode` (the worker's and the thumbnail Lambda's task decoder);
//! - `worker::request_id_of` (the request id logged for a task);
//! - `CoverService::handle` (the thumbnail task handler, as the worker runs it);
//! - `lambda::handle_sqs_event` (the thumbnail Lambda: an SQS batch);
//! - `lambda::handle_s3_ingest_event` (the sales Lambda: an S3 event).
//!
//! A typed error, a skipped or failed record is fine; a panic, an S3-derived request
//! id that is not short printable text, a retry (nothing in memory is unavailable,
//! so a retry means an unexpected failure) or a summary that loses records is not.
//! `@COVER@` and `@BOOK@` in the input name the seeded cover key and book.
#![no_main]

use std::sync::OnceLock;

use aws_lambda_events::event::sqs::SqsEvent;
use kcl_adapters::lambda::{
    handle_s3_ingest_event, handle_sqs_event, lambda_runtime, S3IngestError,
};
use kcl_core::domain::{CoverKey, TaskMessage};
use kcl_core::services::{TaskHandler, TaskOutcome};
use kcl_fuzz::{Harness, Seed};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let h = HARNESS.get_or_init(Harness::new);
    h.block_on(async {
        let fresh = h
            .fresh(Seed {
                cover: true,
                incoming: true,
                ..Seed::default()
            })
            .await;
        let data = fresh.expand(data);
        let covers = fresh.services.covers.clone();
        if let Ok(text) = std::str::from_utf8(&data) {
            if let Ok(TaskMessage::Thumbnails(tasks)) = TaskMessage::decode(text) {
                for t in tasks {
                    if let Some(k) = CoverKey::parse_original(&t.key) {
                        assert!(t.key.starts_with("uploads/"));
                        assert_eq!(k.book_id.to_string().len(), 36);
                    }
                }
            }
            if let Some(id) = kcl_adapters::worker::request_id_of(text) {
                if let Some(s3) = id.strip_prefix("s3:") {
                    assert!(!s3.is_empty() && s3.len() <= 128, "{id:?}");
                    assert!(s3.chars().all(|c| c.is_ascii_graphic()), "{id:?}");
                }
            }
            let outcome = covers.handle(text).await;
            assert!(
                !matches!(outcome, TaskOutcome::Retry(_)),
                "the thumbnail handler asked for a retry: {outcome:?}"
            );
        }
        if let Ok(event) = serde_json::from_slice::<SqsEvent>(&data) {
            let n = event.records.len();
            let response = handle_sqs_event(covers.as_ref(), event, 3).await;
            assert!(response.batch_item_failures.len() <= n);
        }
        if let Ok(payload) = serde_json::from_slice::<Value>(&data) {
            let test_event = payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent");
            let records = payload
                .get("Records")
                .and_then(Value::as_array)
                .map(Vec::len);
            let event =
                lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
            match handle_s3_ingest_event(&fresh.services.sales, fresh.backend.blobs.as_ref(), event)
                .await
            {
                Ok(summary) if test_event => assert!(summary.records.is_empty()),
                Ok(summary) => assert_eq!(Some(summary.records.len()), records),
                Err(S3IngestError::NotAnS3Event(_)) => assert!(records.is_none()),
                Err(e) => panic!("the sales Lambda failed: {e}"),
            }
        }
    });
    h.assert_spool_empty();
});
