//! The queue worker alone: takes thumbnail tasks from the configured queue until
//! Ctrl-C or SIGTERM, then finishes (or releases) the tasks it holds.
//!
//! ```sh
//! # Beside servers started with KCL_WORKER=off, on the same configuration:
//! KCL_WORKER_CONCURRENCY=4 cargo run --release --example worker
//! # On the AWS profile (see the README for the variables):
//! cargo run --release --example worker --features aws
//! ```

use std::process::ExitCode;

use kcl::worker::{run, WorkerConfig};
use kcl::{Config, Kcl};

#[tokio::main]
async fn main() -> ExitCode {
    kcl::init_tracing();
    let start = async {
        let config = Config::from_env()?;
        let kcl = Kcl::open(&config).await?;
        Ok::<_, Box<dyn std::error::Error>>((config, kcl))
    };
    let (config, kcl) = match start.await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("kcl worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wc = WorkerConfig {
        concurrency: config.worker_concurrency,
        ..Default::default()
    };
    tracing::info!(concurrency = wc.concurrency, "KCL worker started");
    let stats = run(
        kcl.tasks.clone(),
        kcl.services.covers.clone(),
        wc,
        kcl::shutdown_signal(),
    )
    .await;
    tracing::info!(?stats, "KCL worker stopped");
    kcl.close().await;
    ExitCode::SUCCESS
}
