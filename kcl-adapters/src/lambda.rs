//! Lambda handlers: the worker's task handling behind an SQS event source.
//!
//! Each record of the batch is handled like a worker handles a message. Records that
//! need a retry are reported as `batchItemFailures` (enable `ReportBatchItemFailures`
//! on the event source mapping), so SQS redelivers only those; records done or failed
//! for good (the status says why) are deleted with the batch. A record received
//! `give_up_after` times that still fails is recorded as failed and reported, so SQS's
//! redrive policy moves it to the dead-letter queue.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use kcl_adapters::lambda::handle_sqs_event;
//! use kcl_core::memory::MemoryBackend;
//!
//! let services = MemoryBackend::new().services();
//! let event = serde_json::from_value(serde_json::json!({"Records": [{
//!     "messageId": "m1", "body": "not a task",
//!     "attributes": {"ApproximateReceiveCount": "1"}
//! }]})).unwrap();
//! let response = handle_sqs_event(services.covers.as_ref(), event, 5).await;
//! // A poison message is dropped (not retried forever):
//! assert!(response.batch_item_failures.is_empty());
//! # });
//! ```

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use kcl_core::services::{TaskHandler, TaskOutcome};
pub use lambda_runtime;

/// Runs the Lambda runtime loop with [`handle_sqs_event`] as the function (what a
/// Lambda's `main` calls once the services are built).
pub async fn run_sqs_handler(
    handler: Arc<dyn TaskHandler>,
    give_up_after: u32,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let handler = handler.clone();
            async move {
                Ok::<_, lambda_runtime::Error>(
                    handle_sqs_event(handler.as_ref(), event.payload, give_up_after).await,
                )
            }
        },
    ))
    .await
}

/// Handles an SQS event; returns the records SQS must deliver again.
pub async fn handle_sqs_event(
    handler: &dyn TaskHandler,
    event: SqsEvent,
    give_up_after: u32,
) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let receives: u32 = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        match handler.handle(body).await {
            TaskOutcome::Done => tracing::info!(message_id = %id, "task done"),
            TaskOutcome::Failed(why) => {
                tracing::warn!(message_id = %id, reason = %why, "task failed for good")
            }
            TaskOutcome::Retry(why) => {
                if receives >= give_up_after {
                    tracing::error!(message_id = %id, receives, reason = %why, "task given up");
                    handler.give_up(body, &why).await;
                } else {
                    tracing::warn!(message_id = %id, receives, reason = %why, "task will be retried");
                }
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failures.push(failure);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}
