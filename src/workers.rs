//! The background work of a KCL process: the thumbnail and OCR workers, the sweeper
//! that expires OCR items past their deadline, and the standalone worker host (with
//! its health checks and metrics).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kcl_adapters::worker::{run, WorkerConfig};
use kcl_core::services::TaskHandler;

use crate::{Config, Kcl};

/// How often the scheduler asks whether scheduled reports are due.
const SCHEDULER_EVERY: Duration = Duration::from_secs(60);

/// Starts both workers (thumbnail and OCR queues, `concurrency` tasks each), the
/// sweeper (every minute) and, with `KCL_REPORT_SCHEDULE`, the scheduler of sales
/// reports (every minute: a day's reports are written once across every process,
/// see [`SalesService::run_scheduled_reports`](kcl_core::services::SalesService::run_scheduled_reports));
/// all stop when `shutdown` completes (the workers finish
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
    if kcl.services.sales.report_schedule().is_some() {
        let sales = kcl.services.sales.clone();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = sales.run_scheduled_reports().await {
                    tracing::warn!(error = %e, "scheduled reports failed; tried again in a minute");
                }
                tokio::select! {
                    _ = tokio::time::sleep(SCHEDULER_EVERY) => {}
                    _ = rx.wait_for(|stop| *stop) => break,
                }
            }
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

/// How [`run_worker`] runs.
#[derive(Debug)]
pub struct WorkerOptions {
    /// Tasks each queue's worker runs at once.
    pub concurrency: usize,
    /// Where to serve `/health/live`, `/health` and `/metrics` (feature `http`);
    /// `None`: no listener.
    pub listener: Option<tokio::net::TcpListener>,
    /// Whether `/metrics` is served (and the Prometheus recorder installed).
    pub metrics: bool,
    /// The bearer token `/metrics` wants (`KCL_METRICS_TOKEN`); `None`: it is public.
    pub metrics_token: Option<String>,
}

/// Runs the standalone worker on the profile the environment chooses (see
/// [`config`](crate::config)) until `shutdown` completes: [`spawn_workers`] with
/// `KCL_WORKER_CONCURRENCY`, and with `KCL_WORKER_ADDR` set, `/health/live`, `/health`
/// and `/metrics` on that address. Then the workers finish or release their tasks and
/// the stores close. What `kcl worker` and `examples/worker.rs` run.
///
/// Errors name the variable at fault (`KCL_WORKER_ADDR=...: cannot listen: ...`).
pub async fn work_from_env(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = Config::from_env()?;
    let listener = match config.worker_addr {
        None => None,
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("KCL_WORKER_ADDR={addr}: cannot listen: {e}"))?,
        ),
    };
    let kcl = Kcl::open(&config).await?;
    let options = WorkerOptions {
        concurrency: config.worker_concurrency,
        listener,
        metrics: config.metrics,
        metrics_token: config.metrics_token.clone(),
    };
    run_worker(kcl, options, shutdown).await
}

/// Runs the workers of `kcl` (see [`spawn_workers`]) and, when `options` has a
/// listener, the health checks and metrics on it, until `shutdown` completes; then
/// stops both, waits for the workers to finish or release their tasks, and closes
/// `kcl`.
///
/// Fails at once, before any task is taken, when a listener is given to a build
/// without the `http` feature.
pub async fn run_worker(
    kcl: Kcl,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let http = match options.listener {
        None => None,
        Some(listener) => match probes(
            &kcl,
            listener,
            options.metrics,
            options.metrics_token.as_deref(),
            stopped(stop_rx.clone()),
        ) {
            Ok(handle) => Some(handle),
            Err(e) => {
                kcl.close().await;
                return Err(e.into());
            }
        },
    };
    tracing::info!(
        concurrency = options.concurrency,
        "KCL worker started (thumbnail and OCR queues)"
    );
    let workers = spawn_workers(&kcl, options.concurrency, stopped(stop_rx));
    let signal = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let _ = workers.await;
    signal.abort();
    let served = match http {
        Some(h) => h
            .await
            .map_err(|e| format!("the health listener failed: {e}"))?,
        None => Ok(()),
    };
    tracing::info!("KCL worker stopped");
    kcl.close().await;
    Ok(served?)
}

/// Serves the worker's health checks and metrics on `listener` until `stop`.
#[cfg(feature = "http")]
fn probes(
    kcl: &Kcl,
    listener: tokio::net::TcpListener,
    metrics: bool,
    metrics_token: Option<&str>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, String> {
    let addr = listener
        .local_addr()
        .map_err(|e| format!("KCL_WORKER_ADDR: {e}"))?;
    let token = metrics_token
        .map(crate::http::metrics::MetricsToken::new)
        .transpose()
        .map_err(|e| format!("KCL_METRICS_TOKEN: {e}"))?;
    tracing::info!(%addr, "KCL worker health and metrics on http://{addr}");
    let router = crate::http::worker_router(kcl.services.clone(), metrics, token);
    Ok(tokio::spawn(crate::http::serve(listener, router, stop)))
}

/// Without the `http` feature there is nothing to serve the health checks with.
#[cfg(not(feature = "http"))]
fn probes(
    _: &Kcl,
    _: tokio::net::TcpListener,
    _: bool,
    _: Option<&str>,
    _: impl Future<Output = ()> + Send + 'static,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, String> {
    Err(
        "KCL_WORKER_ADDR: this build has no `http` feature to serve health checks and \
         metrics with; unset it or build with --features http"
            .into(),
    )
}
