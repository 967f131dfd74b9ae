use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ports::{HealthProbe, HealthReport};

/// Runs the readiness probes, each with a time limit.
pub struct HealthService {
    probes: Vec<Arc<dyn HealthProbe>>,
    timeout: Duration,
}

impl HealthService {
    /// A service over these probes (2 s limit each).
    pub fn new(probes: Vec<Arc<dyn HealthProbe>>) -> Self {
        Self {
            probes,
            timeout: Duration::from_secs(2),
        }
    }

    /// Runs every probe concurrently; `ready` is false when a critical one failed.
    pub async fn check(&self) -> (bool, Vec<HealthReport>) {
        let runs = self.probes.iter().map(|p| async move {
            let start = Instant::now();
            let outcome = match tokio::time::timeout(self.timeout, p.check()).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            HealthReport {
                name: p.name().to_owned(),
                status: if outcome.is_ok() { "ok" } else { "error" },
                critical: p.critical(),
                latency_ms: start.elapsed().as_millis() as u64,
                error: outcome.err(),
            }
        });
        let reports = futures::future::join_all(runs).await;
        let ready = reports.iter().all(|r| r.status == "ok" || !r.critical);
        (ready, reports)
    }
}

/// Readiness of a blob store: listing one key answers.
pub struct BlobStoreProbe(pub std::sync::Arc<dyn crate::ports::BlobStore>);

#[async_trait::async_trait]
impl HealthProbe for BlobStoreProbe {
    fn name(&self) -> &str {
        "blobs"
    }
    async fn check(&self) -> Result<(), String> {
        self.0
            .list("", 1)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Readiness of a task queue: its counts answer.
pub struct QueueProbe(pub std::sync::Arc<dyn crate::ports::TaskQueue>);

#[async_trait::async_trait]
impl HealthProbe for QueueProbe {
    fn name(&self) -> &str {
        "queue"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.stats().await.map(|_| ()).map_err(|e| e.to_string())
    }
}
