//! The thumbnail Lambda function (SQS event source): the `kcl-lambda-thumbnails`
//! package of `scripts/package-lambdas.sh`. See [`kcl::thumbnail_lambda_from_env`].

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    kcl::thumbnail_lambda_from_env().await
}
