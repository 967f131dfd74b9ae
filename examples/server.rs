//! The KCL server on the profile the environment chooses (the embedded SQLite
//! default when nothing is set).
//!
//! ```sh
//! cargo run --example server
//! # KCL_HTTP_ADDR=0.0.0.0:8080 KCL_DATA_DIR=/var/lib/kcl cargo run --release --example server
//! ```
//!
//! Ctrl-C or SIGTERM stops accepting connections, finishes in-flight requests and
//! closes the database.

use std::process::ExitCode;

use kcl::{Config, Kcl};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("KCL_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcl: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .map_err(|e| format!("KCL_HTTP_ADDR={}: cannot listen: {e}", config.http_addr))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        "KCL is serving on http://{}",
        listener.local_addr()?
    );
    kcl::http::serve(
        listener,
        kcl::http::router(kcl.services.clone()),
        shutdown_signal(),
    )
    .await?;
    tracing::info!("shutting down");
    kcl.close().await;
    Ok(())
}

async fn shutdown_signal() {
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
