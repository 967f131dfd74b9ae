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
pub use server::serve_from_env;
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

/// Logs to stderr with the filter in `KCL_LOG` (default `info`), as the hosts do.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("KCL_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
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
