//! The whole server: configuration from the environment, adapters, HTTP.

use std::sync::Arc;

use kcl_core::services::TaskHandler;

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
    // One signal, two listeners: the HTTP server and the in-process worker.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = Vec::new();
    if config.in_process_worker {
        let wc = kcl_adapters::worker::WorkerConfig {
            concurrency: config.worker_concurrency,
            ..Default::default()
        };
        let queues: [(_, Arc<dyn TaskHandler>); 2] = [
            (kcl.tasks.clone(), kcl.services.covers.clone()),
            (kcl.ocr_tasks.clone(), kcl.services.jobs.clone()),
        ];
        for (queue, handler) in queues {
            let mut rx = stop_rx.clone();
            background.push(tokio::spawn(async move {
                let stats = kcl_adapters::worker::run(queue, handler, wc, async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
                tracing::info!(?stats, "worker stopped");
            }));
        }
    }
    // The sweeper: unfinished OCR items past their deadline become EXPIRED.
    let jobs = kcl.services.jobs.clone();
    let mut rx = stop_rx.clone();
    background.push(tokio::spawn(async move {
        loop {
            match jobs.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "OCR items expired"),
                Err(e) => tracing::warn!(error = %e, "sweeper failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                _ = rx.wait_for(|stop| *stop) => break,
            }
        }
    }));
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
    for task in background {
        let _ = task.await;
    }
    kcl.close().await;
    Ok(())
}
