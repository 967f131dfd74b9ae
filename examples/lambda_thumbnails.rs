//! The thumbnail worker as an AWS Lambda function behind an SQS event source
//! (enable `ReportBatchItemFailures` on the mapping). Configured like the server, by
//! environment variables: typically `KCL_DATABASE_URL=postgres://...`,
//! `KCL_BLOBS=s3://...`, `KCL_QUEUE=sqs://...`, `KCL_AUDIT=dynamodb://...`.
//!
//! ```sh
//! cargo build --release --example lambda_thumbnails --features aws,lambda
//! # locally, with `pip install cargo-lambda`: cargo lambda watch / cargo lambda invoke
//! ```

use kcl::{Config, Kcl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    // The queue's own receive limit, so the last attempt is recorded before SQS
    // moves the message to the dead-letter queue.
    let give_up_after = kcl.tasks.config().unwrap_or_default().max_receives;
    kcl::lambda::run_sqs_handler(kcl.services.covers.clone(), give_up_after).await?;
    Ok(())
}
