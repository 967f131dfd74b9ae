//! The queue workers alone (thumbnails and OCR, and the OCR sweeper): take tasks from
//! the configured queues until Ctrl-C or SIGTERM, then finish (or release) the tasks
//! they hold. With `KCL_WORKER_ADDR`, serves `/health/live`, `/health` and `/metrics`
//! there. What `kcl worker` runs ([`kcl::work_from_env`]). With OCR
//! (`--features tesseract`), run it with `OMP_THREAD_LIMIT=1`.
//!
//! ```sh
//! # Beside servers started with KCL_WORKER=off, on the same configuration:
//! KCL_WORKER_CONCURRENCY=4 KCL_WORKER_ADDR=127.0.0.1:9090 cargo run --release --example worker
//! curl http://127.0.0.1:9090/metrics
//! # On the AWS profile (see the README for the variables):
//! cargo run --release --example worker --features aws
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    kcl::ensure_omp_thread_limit();
    kcl::init_tracing();
    match kcl::work_from_env(kcl::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcl: {e}");
            ExitCode::FAILURE
        }
    }
}
