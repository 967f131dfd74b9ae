//! The sales-ingestion Lambda function (S3 `ObjectCreated` notifications): the
//! `kcl-lambda-ingest` package of `scripts/package-lambdas.sh`. See
//! [`kcl::ingest_lambda_from_env`].

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    kcl::ingest_lambda_from_env().await
}
