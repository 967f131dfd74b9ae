//! The background work of a KCL process: the thumbnail and OCR workers, and the
//! sweeper that expires OCR items past their deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kcl_adapters::worker::{run, WorkerConfig};
use kcl_core::services::TaskHandler;

use crate::Kcl;

/// Starts both workers (thumbnail and OCR queues, `concurrency` tasks each) and the
/// sweeper (every minute); all stop when `shutdown` completes (the workers finish
/// or release their tasks first). The returned handle completes when they have.
/// What the server runs in-process and what `examples/worker.rs` runs alone.
pub fn spawn_workers(
    kcl: &Kcl,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        concurrency,
        ..Default::default()
    };
    let queues: [(&str, _, Arc<dyn TaskHandler>); 2] = [
        ("thumbnails", kcl.tasks.clone(), kcl.services.covers.clone()),
        ("ocr", kcl.ocr_tasks.clone(), kcl.services.jobs.clone()),
    ];
    let mut tasks = Vec::new();
    for (name, queue, handler) in queues {
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let stats = run(queue, handler, config, async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await;
            tracing::info!(queue = name, ?stats, "worker stopped");
        }));
    }
    let jobs = kcl.services.jobs.clone();
    let mut rx = stop_rx;
    tasks.push(tokio::spawn(async move {
        loop {
            match jobs.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "OCR items expired"),
                Err(e) => tracing::warn!(error = %e, "sweeper failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = rx.wait_for(|stop| *stop) => break,
            }
        }
    }));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
    })
}
