#![doc = include_str!("../README.md")]

mod cloud;
pub mod config;
mod runtime;
#[cfg(feature = "http")]
mod server;
#[cfg(feature = "worker")]
mod workers;

pub use config::{Config, ConfigError};
pub use kcl_core::{domain, memory, ports, services, ServiceError, Services};
pub use runtime::{Kcl, StartError};
#[cfg(feature = "http")]
pub use server::{http_options, serve_from_env};
#[cfg(feature = "worker")]
pub use workers::spawn_workers;

/// The HTTP host (axum router, REST API, web UI).
#[cfg(feature = "http")]
pub use kcl_adapters::http;

/// The queue worker host.
#[cfg(feature = "worker")]
pub use kcl_adapters::worker;

/// The media adapters (the image thumbnailer).
#[cfg(feature = "media")]
pub use kcl_media as media;

/// Lambda handlers.
#[cfg(feature = "lambda")]
pub use kcl_adapters::lambda;

/// The embedded adapters (SQLite, files, SQLite queue).
#[cfg(feature = "local")]
pub use kcl_local as local;

/// The AWS profile's adapters (PostgreSQL, Redis, S3, SQS, DynamoDB).
#[cfg(feature = "aws")]
pub use kcl_aws as aws;

/// Conformance kits, to prove your own adapter honours a port's contract.
#[cfg(feature = "testkit")]
pub use kcl_core::testkit;

/// Makes sure `OMP_THREAD_LIMIT=1` is in this process's environment before Tesseract's
/// OpenMP runtime reads it (at library load, before `main`): when it is missing, the
/// program starts itself again with it set (Unix), so every host runs Tesseract one
/// thread per engine. Call it first thing in `main`; a no-op when already set or
/// without the `tesseract` feature.
pub fn ensure_omp_thread_limit() {
    #[cfg(all(unix, feature = "tesseract"))]
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            // Only reached when the new image could not start: go on as we are.
            eprintln!("kcl: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower");
        }
    }
}

/// Installs `$builder` (a `tracing_subscriber::fmt()` builder) with the `KCL_LOG` filter
/// (default `info`), as JSON lines when `KCL_LOG_FORMAT=json`. A macro: the builders of
/// [`init_tracing`] and [`init_lambda_tracing`] are of different types.
macro_rules! init_subscriber {
    ($builder:expr) => {{
        let filter = tracing_subscriber::EnvFilter::try_from_env("KCL_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let builder = $builder.with_env_filter(filter);
        if std::env::var("KCL_LOG_FORMAT").is_ok_and(|f| f.trim() == "json") {
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .init();
        } else {
            builder.init();
        }
    }};
}

/// Logs to stderr with the filter in `KCL_LOG` (default `info`), as the hosts do:
/// text, or one JSON object per line with `KCL_LOG_FORMAT=json` (each line carries
/// its spans' fields, such as a request's `request_id`).
pub fn init_tracing() {
    init_subscriber!(tracing_subscriber::fmt().with_writer(std::io::stderr));
}

/// Logs for a Lambda function: like [`init_tracing`] (`KCL_LOG`, `KCL_LOG_FORMAT`) but
/// without timestamps, which CloudWatch adds itself.
pub fn init_lambda_tracing() {
    init_subscriber!(tracing_subscriber::fmt().without_time());
}

/// Completes on Ctrl-C or SIGTERM (a load balancer's or an orchestrator's stop): the
/// shutdown signal of the server and worker hosts.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
