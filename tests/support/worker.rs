//! A queue worker of the tests' own, in the background until stopped: the same
//! `kcl::worker::run` a host runs, two tasks at a time, polling every 200 ms.
//! Used through `#[path = "support/worker.rs"] mod worker;`.
#![allow(dead_code)] // each test binary uses part of it

use std::sync::Arc;
use std::time::Duration;

use kcl::ports::TaskQueue;
use kcl::services::TaskHandler;

/// A running worker; [`BackgroundWorker::stop`] ends it and waits for it.
pub(crate) struct BackgroundWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    join: tokio::task::JoinHandle<kcl::worker::WorkerStats>,
}

impl BackgroundWorker {
    /// Starts a worker taking tasks from `queue` to `handler`.
    pub(crate) fn start(queue: Arc<dyn TaskQueue>, handler: Arc<dyn TaskHandler>) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let join = tokio::spawn(kcl::worker::run(
            queue,
            handler,
            kcl::worker::WorkerConfig {
                concurrency: 2,
                wait: Duration::from_millis(200),
                ..Default::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        Self { stop, join }
    }

    /// Stops the worker and waits until it has.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.join.await.expect("the worker ends");
    }
}
