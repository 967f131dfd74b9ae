//! The KCL HTTP API and web UI as an AWS Lambda function behind API Gateway (REST or
//! HTTP API), an Application Load Balancer or a function URL: the same router the
//! server runs, with the same authentication, limits and metrics. Configured like the
//! server, by environment variables (`KCL_DATABASE_URL=postgres://...`,
//! `KCL_BLOBS=s3://...`, `KCL_QUEUE=sqs://...`, `KCL_AUTH_JWT_SECRET=...`). Thumbnail
//! and OCR tasks are left to the queue's own consumers (`examples/lambda_thumbnails.rs`
//! or `examples/worker.rs`).
//!
//! ```sh
//! cargo build --release --example lambda_http --features aws,lambda
//! # locally, with `pip install cargo-lambda`:
//! #   cargo lambda watch --example lambda_http --features aws,lambda
//! #   cargo lambda invoke --data-file tests/fixtures/lambda/apigw_v2_list_books.json
//! ```

use kcl::{Config, Kcl};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // REST API (v1) events carry the stage in the path (`/prod/api/books`): the router
    // knows `/api/books`. Set before any thread starts; an explicit setting wins.
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
    tokio::runtime::Runtime::new()?.block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    let config = Config::from_env()?;
    let options = kcl::http_options(&config)?;
    let kcl = Kcl::open(&config).await?;
    let router = kcl::http::router_with(kcl.services.clone(), options);
    kcl::lambda::run_http(router).await
}
