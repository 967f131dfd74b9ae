//! The Lambda functions' programs: configuration from the environment, adapters, the
//! runtime loop. What the `kcl-lambda-*` binaries (the deployable packages, see
//! `scripts/package-lambdas.sh`) and the `lambda_*` examples run.

use crate::{Config, Kcl};

/// An error that stops a Lambda function's start (it names the variable at fault).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The thumbnail worker behind an SQS event source (enable `ReportBatchItemFailures`
/// on the mapping): opens KCL on the profile the environment chooses (typically
/// `KCL_DATABASE_URL=postgres://...`, `KCL_BLOBS=s3://...`, `KCL_QUEUE=sqs://...`)
/// and handles thumbnail tasks until the runtime stops the function. A task's last
/// attempt is the queue's own receive limit, so it is recorded before SQS moves the
/// message to the dead-letter queue. Task metrics go to CloudWatch in Embedded
/// Metric Format (`docs/operations.md`).
pub async fn thumbnail_lambda_from_env() -> Result<(), BoxError> {
    crate::lambda::install_emf_metrics("KCL");
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let give_up_after = kcl.tasks.config().unwrap_or_default().max_receives;
    crate::lambda::run_sqs_handler(kcl.services.covers.clone(), give_up_after).await?;
    Ok(())
}

/// Sales-file ingestion, invoked by S3 `ObjectCreated` notifications on KCL's bucket
/// (filter on the prefix `sales/incoming/`, or `{prefix}/sales/incoming/` with
/// `KCL_BLOBS=s3://bucket/prefix`), or on a bucket of their own
/// (`KCL_SALES_INCOMING=s3://bucket[/prefix]`): each created file is validated and loaded; the
/// invocation fails (so Lambda retries the event) only when a retry may help, such as
/// the database or S3 being unavailable. Files are spooled to `KCL_SPOOL_DIR`
/// (default `/tmp`), which needs about twice a file's size. Per-file outcomes go to
/// CloudWatch as `kcl_tasks_total{kind="sales"}` in Embedded Metric Format.
pub async fn ingest_lambda_from_env() -> Result<(), BoxError> {
    crate::lambda::install_emf_metrics("KCL");
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    crate::lambda::run_s3_ingest_handler_from(
        kcl.services.sales.clone(),
        kcl.blobs.clone(),
        kcl.sales_incoming.clone(),
    )
    .await?;
    Ok(())
}

/// Scheduled sales reports, invoked by an EventBridge Scheduler schedule
/// (`deploy/aws/app.yml`) at the time `KCL_REPORT_SCHEDULE` names, in
/// `KCL_REPORT_TZ`: writes the previous day's report of each store to `KCL_REPORTS`,
/// once per day (the claim is in the database the servers share; see
/// `docs/sales.md`). Refuses to start without `KCL_REPORT_SCHEDULE`.
pub async fn reports_lambda_from_env() -> Result<(), BoxError> {
    crate::lambda::install_emf_metrics("KCL");
    let config = Config::from_env()?;
    if config.settings.sales.schedule.is_none() {
        return Err(crate::ConfigError {
            variable: "KCL_REPORT_SCHEDULE",
            value: String::new(),
            reason: "the report function needs a schedule, such as `daily 06:00`".into(),
        }
        .into());
    }
    let kcl = Kcl::open(&config).await?;
    crate::lambda::run_scheduled_reports_handler(kcl.services.sales.clone()).await?;
    Ok(())
}

/// The HTTP API and web UI behind API Gateway (REST or HTTP API), an Application Load
/// Balancer or a function URL: the server's router, with the same authentication,
/// limits and metrics, on the profile the environment chooses.
///
/// Call it from a plain `fn main` (not inside a Tokio runtime): REST API (v1) events
/// carry the stage in the path (`/prod/api/books`) where the router knows
/// `/api/books`, so it sets `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true` (unless set)
/// while the process has one thread, then starts its own runtime.
#[cfg(feature = "http")]
pub fn http_lambda_from_env() -> Result<(), BoxError> {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
    tokio::runtime::Runtime::new()?.block_on(async {
        let config = Config::from_env()?;
        let options = crate::http_options(&config)?;
        let kcl = Kcl::open(&config).await?;
        let router = crate::http::router_with(kcl.services.clone(), options);
        crate::lambda::run_http(router).await
    })
}
