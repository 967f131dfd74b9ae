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
//! The same program as the deployable `kcl-lambda-ingest` binary
//! (`scripts/package-lambdas.sh` packages it); locally, with `pip install cargo-lambda`:
//!
//! ```sh
//! cargo lambda watch --example lambda_ingest --features aws,lambda
//! cargo lambda invoke --data-file tests/fixtures/lambda/s3_sales_created.json lambda_ingest
//! ```

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    // Config::from_env, Kcl::open, then kcl::lambda::run_s3_ingest_handler with the
    // sales service and the blob store its events name.
    kcl::ingest_lambda_from_env().await
}
