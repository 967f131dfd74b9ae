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
///
/// ```
/// use std::sync::Arc;
/// use kcl_core::memory::MemoryQueue;
/// use kcl_core::ports::HealthProbe;
/// use kcl_core::services::QueueProbe;
///
/// let probe = QueueProbe::new("ocr_queue", Arc::new(MemoryQueue::default())).optional();
/// assert_eq!(probe.name(), "ocr_queue");
/// assert!(!probe.critical());
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(probe.check().await, Ok(()));
/// # });
/// ```
pub struct QueueProbe {
    name: String,
    queue: Arc<dyn crate::ports::TaskQueue>,
    critical: bool,
}

impl QueueProbe {
    /// A critical probe named `name` (`queue` for the thumbnail tasks, `ocr_queue`).
    pub fn new(name: impl Into<String>, queue: Arc<dyn crate::ports::TaskQueue>) -> Self {
        Self {
            name: name.into(),
            queue,
            critical: true,
        }
    }

    /// The same probe, reported but not making the service unready when it fails (a
    /// queue only some requests need).
    pub fn optional(mut self) -> Self {
        self.critical = false;
        self
    }
}

#[async_trait::async_trait]
impl HealthProbe for QueueProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn critical(&self) -> bool {
        self.critical
    }
    async fn check(&self) -> Result<(), String> {
        self.queue
            .stats()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
