//! The whole server: configuration from the environment, adapters, HTTP.

use crate::{Config, Kcl};

/// Runs the HTTP server on the profile the environment chooses (see
/// [`config`](crate::config)) until `shutdown` completes, then finishes in-flight
/// requests and closes the stores. What `cargo run --example server` runs.
///
/// Errors name the variable at fault (`KCL_HTTP_ADDR=...: cannot listen: ...`).
pub async fn serve_from_env(
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .map_err(|e| format!("KCL_HTTP_ADDR={}: cannot listen: {e}", config.http_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        database = %config.database.describe(),
        "KCL is serving on http://{addr}"
    );
    crate::http::serve(
        listener,
        crate::http::router(kcl.services.clone()),
        shutdown,
    )
    .await?;
    tracing::info!("shutting down");
    kcl.close().await;
    Ok(())
}
