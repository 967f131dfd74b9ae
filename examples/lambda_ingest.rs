//! Sales-file ingestion as an AWS Lambda function, invoked by S3 `ObjectCreated`
//! notifications on KCL's bucket (filter on the prefix `sales/incoming/`, or
//! `{prefix}/sales/incoming/` with `KCL_BLOBS=s3://bucket/prefix`). Each created file
//! is validated and loaded; the function fails (so Lambda retries the event) only
//! when a retry may help, such as the database or S3 being unavailable.
//!
//! Configured like the server, by environment variables: typically
//! `KCL_DATABASE_URL=postgres://...`, `KCL_BLOBS=s3://...`, `KCL_AUDIT=dynamodb://...`
//! (the audit log and the daily totals). Files are spooled to `KCL_SPOOL_DIR`
//! (default `/tmp`), which needs about twice a file's size: raise the function's
//! ephemeral storage (512 MB by default) and timeout for large files.
//!
//! ```sh
//! cargo build --release --example lambda_ingest --features aws,lambda
//! # locally, with `pip install cargo-lambda`: cargo lambda watch / cargo lambda invoke
//! ```

use kcl::{Config, Kcl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    kcl::lambda::run_s3_ingest_handler(kcl.services.sales.clone(), kcl.blobs.clone()).await?;
    Ok(())
}
