//! Creates the buckets, queues (with their dead-letter queue) and tables the
//! environment names, if missing, then checks every adapter: the provisioning helper
//! for development and tests (production resources belong to infrastructure code).
//!
//! ```sh
//! AWS_ENDPOINT_URL=http://127.0.0.1:5599 AWS_REGION=us-east-1 \
//! AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//! KCL_BLOBS=s3://kcl-media KCL_QUEUE=sqs://kcl-tasks KCL_AUDIT=dynamodb://kcl \
//! KCL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//! cargo run --example provision --features aws
//! ```
//!
//! The server does the same at start with `KCL_AUTO_PROVISION=1`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let run = async {
        let mut config = kcl::Config::from_env()?;
        config.auto_provision = true;
        let kcl = kcl::Kcl::open(&config).await?;
        let (ok, checks) = kcl.services.health.check().await;
        for c in &checks {
            println!(
                "{:<10} {:<6} {}",
                c.name,
                c.status,
                c.error.as_deref().unwrap_or("")
            );
        }
        kcl.close().await;
        Ok::<_, Box<dyn std::error::Error>>(ok)
    };
    match run.await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kcl provision: {e}");
            ExitCode::FAILURE
        }
    }
}
