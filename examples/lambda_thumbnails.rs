//! The thumbnail worker as an AWS Lambda function behind an SQS event source
//! (enable `ReportBatchItemFailures` on the mapping). Configured like the server, by
//! environment variables: typically `KCL_DATABASE_URL=postgres://...`,
//! `KCL_BLOBS=s3://...`, `KCL_QUEUE=sqs://...`, `KCL_AUDIT=dynamodb://...`.
//!
//! The same program as the deployable `kcl-lambda-thumbnails` binary
//! (`scripts/package-lambdas.sh` packages it); locally, with `pip install cargo-lambda`:
//!
//! ```sh
//! cargo lambda watch --example lambda_thumbnails --features aws,lambda
//! cargo lambda invoke --data-file sqs-event.json lambda_thumbnails # an SQS event of yours
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Logs as Lambda wants them (no timestamps; AWS_LAMBDA_LOG_LEVEL/FORMAT honoured).
    kcl::init_lambda_tracing();
    // Config::from_env, Kcl::open, then kcl::lambda::run_sqs_handler with the covers
    // service as the task handler.
    kcl::thumbnail_lambda_from_env().await
}
