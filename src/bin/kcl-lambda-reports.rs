//! The scheduled-reports Lambda function (an EventBridge Scheduler schedule): the
//! `kcl-lambda-reports` package of `scripts/package-lambdas.sh`. See
//! [`kcl::reports_lambda_from_env`].

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    kcl::reports_lambda_from_env().await
}
