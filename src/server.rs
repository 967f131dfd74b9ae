//! The whole server: configuration from the environment, adapters, HTTP.

use crate::{Config, Kcl};

/// Runs the HTTP server on the profile the environment chooses (see
/// [`config`](crate::config)) until `shutdown` completes, then finishes in-flight
/// requests, lets the in-process queue worker finish or release its tasks
/// (`KCL_WORKER=on`, the default), and closes the stores. What
/// `cargo run --example server` runs.
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
    // One signal for the HTTP server and the in-process workers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = config.in_process_worker.then(|| {
        let mut rx = stop_rx.clone();
        crate::workers::spawn_workers(&kcl, config.worker_concurrency, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    });
    let mut http_rx = stop_rx;
    let signal = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    crate::http::serve(
        listener,
        crate::http::router(kcl.services.clone()),
        async move {
            let _ = http_rx.wait_for(|stop| *stop).await;
        },
    )
    .await?;
    tracing::info!("shutting down");
    signal.abort();
    if let Some(w) = workers {
        let _ = w.await;
    }
    kcl.close().await;
    Ok(())
}
