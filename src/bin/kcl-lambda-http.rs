//! The HTTP API and web UI as a Lambda function (API Gateway, ALB, function URL): the
//! `kcl-lambda-http` package of `scripts/package-lambdas.sh`. See
//! [`kcl::http_lambda_from_env`].

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    kcl::init_lambda_tracing();
    kcl::http_lambda_from_env()
}
