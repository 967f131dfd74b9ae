//! The queue workers alone (thumbnails and OCR, and the OCR sweeper): take tasks from
//! the configured queues until Ctrl-C or SIGTERM, then finish (or release) the tasks
//! they hold. With OCR (`--features tesseract`), run it with `OMP_THREAD_LIMIT=1`.
//!
//! ```sh
//! # Beside servers started with KCL_WORKER=off, on the same configuration:
//! KCL_WORKER_CONCURRENCY=4 cargo run --release --example worker
//! # On the AWS profile (see the README for the variables):
//! cargo run --release --example worker --features aws
//! ```

use std::process::ExitCode;

use kcl::{Config, Kcl};

#[tokio::main]
async fn main() -> ExitCode {
    kcl::ensure_omp_thread_limit();
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
    tracing::info!(
        concurrency = config.worker_concurrency,
        "KCL worker started (thumbnail and OCR queues)"
    );
    let _ = kcl::spawn_workers(&kcl, config.worker_concurrency, kcl::shutdown_signal()).await;
    tracing::info!("KCL worker stopped");
    kcl.close().await;
    ExitCode::SUCCESS
}
