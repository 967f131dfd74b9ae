//! The KCL server on the profile the environment chooses (the embedded SQLite
//! default when nothing is set).
//!
//! ```sh
//! cargo run --example server
//! # KCL_HTTP_ADDR=0.0.0.0:8080 KCL_DATA_DIR=/var/lib/kcl cargo run --release --example server
//! ```
//!
//! With `--features aws`, the AWS profile is chosen by the same variables (see the
//! README): `KCL_DATABASE_URL=postgres://...`, `KCL_BLOBS=s3://...`,
//! `KCL_QUEUE=sqs://...`, `KCL_AUDIT=dynamodb://...`.
//!
//! Ctrl-C or SIGTERM stops accepting connections, finishes in-flight requests and
//! closes the database.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    kcl::ensure_omp_thread_limit();
    kcl::init_tracing();
    match kcl::serve_from_env(kcl::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcl: {e}");
            ExitCode::FAILURE
        }
    }
}
