//! Lambda handlers: the worker's task handling behind an SQS event source,
//! sales-file ingestion behind S3 `ObjectCreated` notifications, and (with the `http`
//! feature) the whole HTTP router behind API Gateway or an ALB ([`run_http`]).
//!
//! ## Thumbnail tasks (SQS)
//!
//! Each record of the batch is handled like a worker handles a message. Records that
//! need a retry are reported as `batchItemFailures` (enable `ReportBatchItemFailures`
//! on the event source mapping), so SQS redelivers only those; records done or failed
//! for good (the status says why) are deleted with the batch. `give_up_after` is the
//! queue's `maxReceiveCount`: a record that still fails on the receive before it is
//! recorded as failed, and the last receive only records the failure (the attempts
//! before it ended without an answer: a timeout, a crash), as the worker does
//! ([`crate::worker::Turn`]); both are reported, so SQS's redrive policy moves them to
//! the dead-letter queue.
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
//!
//! ## Sales files (S3)
//!
//! [`handle_s3_ingest_event`] takes the S3 event notification S3 delivers to a
//! Lambda (an asynchronous invocation) and ingests each object created under
//! `sales/incoming/` in KCL's blob store with the sales service; see that function
//! for what is skipped, reported and retried.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use kcl_adapters::lambda::{handle_s3_ingest_event, lambda_runtime, RecordStatus};
//! use kcl_core::memory::MemoryBackend;
//! use kcl_core::ports::{BlobKey, BlobStore};
//!
//! let backend = MemoryBackend::new();
//! let services = backend.services();
//! let key = BlobKey::parse("sales/incoming/s1.csv").unwrap();
//! let csv = "loja;data;codigo;quantidade;preco_unitario\nS1;23/11/2025;789;2;1,50\n";
//! backend.blobs.put(&key, csv.into(), "text/csv").await.unwrap();
//! // The in-memory store's bucket is `local`.
//! let event = serde_json::json!({"Records": [{
//!     "eventName": "ObjectCreated:Put",
//!     "s3": {"bucket": {"name": "local"}, "object": {"key": "sales/incoming/s1.csv"}}
//! }]});
//! let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
//! let summary = handle_s3_ingest_event(&services.sales, backend.blobs.as_ref(), event)
//!     .await
//!     .unwrap();
//! assert_eq!(summary.records[0].status, RecordStatus::Loaded);
//! assert_eq!(summary.records[0].rows_loaded, 1);
//! # });
//! ```

use std::sync::Arc;

/// The HTTP router behind API Gateway (REST and HTTP APIs), an Application Load
/// Balancer or a function URL: the same [`axum::Router`] the server runs, through
/// `lambda_http`. Re-exported so hosts and tests use the same version.
#[cfg(feature = "http")]
pub use lambda_http;

/// Serves `router` as a Lambda function behind API Gateway or an ALB until the
/// runtime stops it.
///
/// Requests arrive without a peer address: the client's comes from the request
/// context (API Gateway's source IP) or, behind an ALB, from the rightmost
/// `X-Forwarded-For` entry (see [`crate::http::client_addr`]). Binary bodies (cover
/// uploads) come base64-encoded from API Gateway and are decoded by `lambda_http`.
/// Lambda caps a request at 6 MB, below KCL's upload limits.
#[cfg(feature = "http")]
pub async fn run_http(router: axum::Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(router).await
}

pub use crate::emf::{flush_emf_metrics, install_emf_metrics};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use kcl_core::domain::{S3Notification, S3Record, SalesKey};
use kcl_core::ports::{BlobKey, BlobStore};
use kcl_core::services::{
    IngestOptions, IngestReport, IngestStatus, SalesService, TaskHandler, TaskOutcome,
};
use kcl_core::ServiceError;
pub use lambda_runtime;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

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
                let response =
                    handle_sqs_event(handler.as_ref(), event.payload, give_up_after).await;
                flush_emf_metrics(std::io::stdout());
                Ok::<_, lambda_runtime::Error>(response)
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
        let started = std::time::Instant::now();
        let last = match crate::worker::Turn::of(receives, give_up_after) {
            crate::worker::Turn::Attempt { last } => last,
            crate::worker::Turn::RecordFailure => {
                let why = crate::worker::Turn::LOST;
                tracing::error!(message_id = %id, receives, reason = why, "task received for the last time: recorded as failed");
                handler.give_up(body, why).await;
                crate::emf::record_task(handler.kind(), "dead_lettered", 0.0);
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failures.push(failure);
                continue;
            }
        };
        let outcome = handler.handle(body).await;
        let outcome_name = match &outcome {
            TaskOutcome::Done => "done",
            TaskOutcome::Failed(_) => "failed",
            TaskOutcome::Retry(_) | TaskOutcome::RetryWithin(..) if last => "dead_lettered",
            TaskOutcome::Retry(_) | TaskOutcome::RetryWithin(..) => "retried",
        };
        crate::emf::record_task(
            handler.kind(),
            outcome_name,
            started.elapsed().as_secs_f64(),
        );
        match outcome {
            TaskOutcome::Done => tracing::info!(message_id = %id, "task done"),
            TaskOutcome::Failed(why) => {
                tracing::warn!(message_id = %id, reason = %why, "task failed for good")
            }
            TaskOutcome::Retry(why) | TaskOutcome::RetryWithin(why, _) => {
                if last {
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

/// Where sales files are dropped: objects created under this prefix (of KCL's blob
/// store, so after its key prefix, if any) are ingested.
pub const SALES_INCOMING: &str = SalesKey::INCOMING;

/// What became of one record of an S3 event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    /// The file's valid rows were loaded.
    Loaded,
    /// The same content was loaded before: nothing changed.
    Duplicate,
    /// The file was refused (`file_error` says why): reported, not an error.
    Rejected,
    /// Not a sales file for KCL: another event, bucket or prefix, or a folder.
    Skipped,
    /// A sales file that cannot be ingested, and retrying would not help: the
    /// object is gone, too large, or the record is unreadable (`reason` says).
    Failed,
}

/// One record of an S3 event, as [`handle_s3_ingest_event`] handled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IngestedRecord {
    /// The bucket the record names.
    pub bucket: String,
    /// The object key, URL-decoded (as the record has it when it cannot be decoded).
    pub key: String,
    /// What happened.
    pub status: RecordStatus,
    /// Rows loaded.
    pub rows_loaded: u64,
    /// Rows rejected by the row rules.
    pub rows_rejected: u64,
    /// The id of this load, when `loaded`.
    pub file_id: Option<Uuid>,
    /// The loaded file with the same content, when `duplicate`.
    pub duplicate_of: Option<Uuid>,
    /// The earlier version of this name that the load replaced (a correction).
    pub replaced: Option<Uuid>,
    /// The code of the whole-file problem, when `rejected` (`missing-column`,
    /// `no-valid-rows`, ...; see `docs/sales.md`).
    pub file_error: Option<String>,
    /// Why, in words, when `rejected`, `skipped` or `failed`.
    pub reason: Option<String>,
    /// Follow-up steps that failed after the rows were committed (daily totals,
    /// Parquet copies); ingesting the same file again repeats them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The `KCL_SALES_PROFILES` profile whose format read the file, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl IngestedRecord {
    fn new(bucket: &str, key: &str, status: RecordStatus, reason: Option<String>) -> Self {
        Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status,
            rows_loaded: 0,
            rows_rejected: 0,
            file_id: None,
            duplicate_of: None,
            replaced: None,
            file_error: None,
            reason,
            warnings: Vec::new(),
            profile: None,
        }
    }

    fn from_report(bucket: &str, key: &str, report: IngestReport) -> Self {
        let status = match report.status {
            IngestStatus::Loaded => RecordStatus::Loaded,
            IngestStatus::Duplicate => RecordStatus::Duplicate,
            IngestStatus::Rejected => RecordStatus::Rejected,
        };
        let (file_error, reason) = match report.file_error {
            Some(p) => (Some(p.code), Some(p.message)),
            None => (None, None),
        };
        Self {
            rows_loaded: report.rows_loaded,
            rows_rejected: report.rows_rejected,
            file_id: report.file_id,
            duplicate_of: report.duplicate_of,
            replaced: report.replaced,
            file_error,
            warnings: report.warnings,
            profile: report.profile,
            ..Self::new(bucket, key, status, reason)
        }
    }
}

/// What [`handle_s3_ingest_event`] returns: one entry per record, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct S3IngestSummary {
    /// The records.
    pub records: Vec<IngestedRecord>,
}

/// Why an S3 ingest invocation fails (so that Lambda retries it, then sends it to
/// the function's on-failure destination or dead-letter queue).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3IngestError {
    /// The payload is not an S3 event notification (no `Records` array): the
    /// function is wired to the wrong source.
    #[error("not an S3 event notification: {0}")]
    NotAnS3Event(String),
    /// Ingesting a file failed in a way a retry may fix: storage or database
    /// unavailable, a concurrent load of the same name, an unexpected failure.
    /// Records before it were handled (a retry finds them `duplicate`); records
    /// after it were not tried.
    #[error("sales file {key}: {source} (the invocation fails so that Lambda retries it)")]
    Retry {
        /// The blob key of the file.
        key: String,
        /// The service's error.
        #[source]
        source: ServiceError,
    },
}

impl From<S3IngestError> for Diagnostic {
    fn from(e: S3IngestError) -> Self {
        let kind = match e {
            S3IngestError::NotAnS3Event(_) => "NotAnS3Event",
            S3IngestError::Retry { .. } => "SalesIngestRetry",
        };
        Diagnostic {
            error_type: kind.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Runs the Lambda runtime loop with [`handle_s3_ingest_event`] as the function
/// (what a Lambda's `main` calls once the services are built). `blobs` must be the
/// store the sales service reads (`Kcl::blobs`): it maps the event's bucket and
/// object key to a blob key.
pub async fn run_s3_ingest_handler(
    sales: Arc<SalesService>,
    blobs: Arc<dyn BlobStore>,
) -> Result<(), lambda_runtime::Error> {
    run_s3_ingest_handler_from(sales, blobs, None).await
}

/// [`run_s3_ingest_handler`] with the bucket of its own where sales files arrive
/// (`KCL_SALES_INCOMING`; see [`handle_s3_ingest_event_from`]).
pub async fn run_s3_ingest_handler_from(
    sales: Arc<SalesService>,
    blobs: Arc<dyn BlobStore>,
    incoming: Option<Arc<dyn BlobStore>>,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let (sales, blobs, incoming) = (sales.clone(), blobs.clone(), incoming.clone());
            async move {
                let result =
                    handle_s3_ingest_event_from(&sales, blobs.as_ref(), incoming.as_deref(), event)
                        .await;
                flush_emf_metrics(std::io::stdout());
                result
            }
        },
    ))
    .await
}

/// Handles an S3 event notification (`{"Records": [{"eventName":
/// "ObjectCreated:Put", "s3": {"bucket": {"name": ..}, "object": {"key": ..}}}]}`,
/// keys URL-encoded with `+` for spaces), read tolerantly: fields S3 emulators
/// leave out are not required.
///
/// Each record, in order:
///
/// - not `ObjectCreated:*`, a folder marker (a key ending in `/`), another bucket or
///   outside the blob store's prefix, or not under [`SALES_INCOMING`]: **skipped**,
///   with the reason logged and reported;
/// - otherwise the object is ingested (`SalesService::ingest_blob`, default
///   options: lenient). A file refused by its content is **rejected**: reported
///   (and logged), not an error. An object that is gone (deleted after the event),
///   too large, or a record that cannot be read is **failed**: reported, not
///   retried, since a retry would fail the same way.
/// - A failure a retry may fix ([`ServiceError::Unavailable`], a concurrent load,
///   an internal error) stops there and fails the invocation
///   ([`S3IngestError::Retry`]), so Lambda retries the event (twice for S3's
///   asynchronous invocations); files already handled are then `duplicate`.
///
/// Each record's outcome is logged. The summary is the function's result: S3 does
/// not read it (an asynchronous invocation), an on-success destination receives it.
pub async fn handle_s3_ingest_event(
    sales: &SalesService,
    blobs: &dyn BlobStore,
    event: LambdaEvent<Value>,
) -> Result<S3IngestSummary, S3IngestError> {
    handle_s3_ingest_event_from(sales, blobs, None, event).await
}

/// [`handle_s3_ingest_event`] for a deployment whose sales files arrive in a bucket
/// of their own (`KCL_SALES_INCOMING`, opened as `incoming`): an object created
/// under that bucket and prefix is ingested from there, whatever its key, and
/// recorded under its key; events of KCL's own blob store keep the rules above.
pub async fn handle_s3_ingest_event_from(
    sales: &SalesService,
    blobs: &dyn BlobStore,
    incoming: Option<&dyn BlobStore>,
    event: LambdaEvent<Value>,
) -> Result<S3IngestSummary, S3IngestError> {
    let request_id = event.context.request_id.as_str();
    let records = match S3Notification::read(&event.payload) {
        Ok(Some(S3Notification::TestEvent)) => {
            tracing::info!(request_id, "S3 test event: nothing to ingest");
            return Ok(S3IngestSummary::default());
        }
        Ok(Some(S3Notification::Records(records))) => records,
        Ok(None) | Err(_) => return Err(S3IngestError::NotAnS3Event("no Records array".into())),
    };
    let mut summary = S3IngestSummary::default();
    for (i, record) in records.iter().enumerate() {
        let started = std::time::Instant::now();
        let done = ingest_record(sales, blobs, incoming, record).await;
        crate::emf::record_task(
            "sales",
            match &done {
                Ok(r) => match r.status {
                    RecordStatus::Loaded => "done",
                    RecordStatus::Duplicate => "duplicate",
                    RecordStatus::Rejected => "rejected",
                    RecordStatus::Skipped => "skipped",
                    RecordStatus::Failed => "failed",
                },
                Err(_) => "retried",
            },
            started.elapsed().as_secs_f64(),
        );
        let done = done.inspect_err(
            |e| tracing::error!(request_id, record = i, error = %e, "sales file will be retried"),
        )?;
        let r = &done;
        match r.status {
            RecordStatus::Loaded | RecordStatus::Duplicate => tracing::info!(
                request_id, record = i, bucket = %r.bucket, key = %r.key, status = ?r.status,
                rows_loaded = r.rows_loaded, rows_rejected = r.rows_rejected,
                warnings = r.warnings.len(), "sales file ingested"
            ),
            RecordStatus::Rejected => tracing::warn!(
                request_id, record = i, bucket = %r.bucket, key = %r.key,
                file_error = r.file_error.as_deref().unwrap_or(""),
                reason = r.reason.as_deref().unwrap_or(""), "sales file rejected"
            ),
            RecordStatus::Skipped => tracing::info!(
                request_id, record = i, bucket = %r.bucket, key = %r.key,
                reason = r.reason.as_deref().unwrap_or(""), "record skipped"
            ),
            RecordStatus::Failed => tracing::error!(
                request_id, record = i, bucket = %r.bucket, key = %r.key,
                reason = r.reason.as_deref().unwrap_or(""), "sales file not ingested (not retried)"
            ),
        }
        summary.records.push(done);
    }
    Ok(summary)
}

/// Handles one record (see [`handle_s3_ingest_event`]).
async fn ingest_record(
    sales: &SalesService,
    blobs: &dyn BlobStore,
    incoming: Option<&dyn BlobStore>,
    record: &Value,
) -> Result<IngestedRecord, S3IngestError> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let raw_bucket = text(record.pointer("/s3/bucket/name"));
    let raw_key = text(record.pointer("/s3/object/key"));
    let event_name = text(record.get("eventName"));
    let skipped = |bucket: &str, key: &str, why: String| {
        Ok(IngestedRecord::new(
            bucket,
            key,
            RecordStatus::Skipped,
            Some(why),
        ))
    };
    // The same tolerant reading (and URL decoding) as S3 events on the task queue.
    let object = match S3Record::read(record) {
        Ok(S3Record::Created(object)) => object,
        Ok(S3Record::Other { .. }) => {
            return skipped(
                &raw_bucket,
                &raw_key,
                format!("event {event_name:?} is not ObjectCreated"),
            )
        }
        Err(e) => {
            return Ok(IngestedRecord::new(
                &raw_bucket,
                &raw_key,
                RecordStatus::Failed,
                Some(format!("unreadable S3 event record: {}", e.0)),
            ));
        }
    };
    let (bucket, object_key) = (object.bucket.as_str(), object.key.as_str());
    if object_key.ends_with('/') {
        return skipped(bucket, object_key, "a folder, not a file".into());
    }
    // The bucket of its own (KCL_SALES_INCOMING): every object under its prefix is
    // a sales file, recorded under its key.
    if let Some(store) = incoming {
        if let Some(key) = store.key_of(bucket, object_key) {
            let done = sales
                .ingest_object(store, &key, object_key, IngestOptions::default())
                .await;
            return outcome(done, bucket, object_key);
        }
    }
    let Some(key) = blobs.key_of(bucket, object_key) else {
        let probe = format!("{SALES_INCOMING}x.csv");
        let (want_bucket, want_key) =
            blobs.object_location(&BlobKey::parse(&probe).expect("a valid key"));
        let want_prefix = want_key.strip_suffix(probe.as_str()).unwrap_or("");
        return skipped(
            bucket,
            object_key,
            format!("not in KCL's blob store (bucket {want_bucket:?}, key prefix {want_prefix:?})"),
        );
    };
    if !SalesKey::is_incoming(key.as_str()) {
        return skipped(bucket, object_key, format!("not under {SALES_INCOMING}"));
    }
    let done = sales.ingest_blob(&key, IngestOptions::default()).await;
    outcome(done, bucket, object_key)
}

/// A record's outcome from its ingestion's.
fn outcome(
    done: Result<IngestReport, ServiceError>,
    bucket: &str,
    object_key: &str,
) -> Result<IngestedRecord, S3IngestError> {
    match done {
        Ok(report) => Ok(IngestedRecord::from_report(bucket, object_key, report)),
        Err(
            e @ (ServiceError::Unavailable(_)
            | ServiceError::Internal(_)
            | ServiceError::Conflict { .. }),
        ) => Err(S3IngestError::Retry {
            key: object_key.to_owned(),
            source: e,
        }),
        Err(ServiceError::NotFound {
            entity: "object", ..
        }) => Ok(IngestedRecord::new(
            bucket,
            object_key,
            RecordStatus::Failed,
            Some("the object does not exist (deleted after the event?)".into()),
        )),
        Err(e) => Ok(IngestedRecord::new(
            bucket,
            object_key,
            RecordStatus::Failed,
            Some(e.to_string()),
        )),
    }
}

/// What the report function answers: whether this invocation wrote the due day's
/// reports (`false`: another process had, or holds, the day), and which.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScheduledRunSummary {
    /// Whether this invocation ran the day.
    pub ran: bool,
    /// The day reported on, when it ran.
    pub day: Option<chrono::NaiveDate>,
    /// The reports written (keys in the reports store).
    pub reports: Vec<String>,
}

/// Handles an invocation of the report function (EventBridge Scheduler, or any
/// caller: the payload is not read): writes the reports the schedule has due, unless
/// another process did or holds the day
/// ([`SalesService::run_scheduled_reports`]). An error fails the invocation (the
/// failed run gave its day back: Lambda's own retries of an asynchronous
/// invocation, or the schedule's next invocation, write it).
pub async fn handle_scheduled_reports(
    sales: &SalesService,
    event: LambdaEvent<Value>,
) -> Result<ScheduledRunSummary, ScheduledReportsError> {
    let request_id = event.context.request_id.as_str();
    let started = std::time::Instant::now();
    let run = sales.run_scheduled_reports().await;
    crate::emf::record_task(
        "reports",
        match &run {
            Ok(Some(_)) => "done",
            Ok(None) => "skipped",
            Err(_) => "retried",
        },
        started.elapsed().as_secs_f64(),
    );
    match run {
        Ok(Some(run)) => {
            tracing::info!(request_id, day = %run.day, reports = run.reports.len(), "scheduled reports written");
            Ok(ScheduledRunSummary {
                ran: true,
                day: Some(run.day),
                reports: run.reports.into_iter().map(|r| r.key).collect(),
            })
        }
        Ok(None) => {
            tracing::info!(
                request_id,
                "scheduled reports: nothing due here (done, or held by another)"
            );
            Ok(ScheduledRunSummary::default())
        }
        Err(e) => {
            tracing::error!(request_id, error = %e, "scheduled reports failed; the invocation will be retried");
            Err(ScheduledReportsError(e))
        }
    }
}

/// Why a report function's invocation fails (so that the scheduler retries it).
#[derive(Debug, thiserror::Error)]
#[error("scheduled reports: {0} (the invocation fails so that it is retried)")]
pub struct ScheduledReportsError(#[source] pub ServiceError);

impl From<ScheduledReportsError> for Diagnostic {
    fn from(e: ScheduledReportsError) -> Self {
        Diagnostic {
            error_type: "ScheduledReportsRetry".to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Runs the Lambda runtime loop with [`handle_scheduled_reports`] as the function.
pub async fn run_scheduled_reports_handler(
    sales: Arc<SalesService>,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let sales = sales.clone();
            async move {
                let result = handle_scheduled_reports(&sales, event).await;
                flush_emf_metrics(std::io::stdout());
                result
            }
        },
    ))
    .await
}
