//! The KCL HTTP API and web UI as an AWS Lambda function behind API Gateway (REST or
//! HTTP API), an Application Load Balancer or a function URL: the same router the
//! server runs, with the same authentication, limits and metrics. Configured like the
//! server, by environment variables (`KCL_DATABASE_URL=postgres://...`,
//! `KCL_BLOBS=s3://...`, `KCL_QUEUE=sqs://...`, `KCL_AUTH_JWT_SECRET_FILE=...`).
//! Thumbnail and OCR tasks are left to the queue's own consumers
//! (`examples/lambda_thumbnails.rs` or `kcl worker`).
//!
//! The same program as the deployable `kcl-lambda-http` binary
//! (`scripts/package-lambdas.sh` packages it); locally, with `pip install cargo-lambda`:
//!
//! ```sh
//! cargo lambda watch --example lambda_http --features aws,lambda
//! cargo lambda invoke --data-file tests/fixtures/lambda/apigw_v2_list_books.json
//! ```

// No #[tokio::main]: the function sets AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH while the
// process has one thread, then starts its own runtime.
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    // Config::from_env, kcl::http_options, Kcl::open, kcl::http::router_with, then
    // kcl::lambda::run_http with that router.
    kcl::http_lambda_from_env()
}
