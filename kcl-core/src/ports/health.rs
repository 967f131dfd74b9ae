use async_trait::async_trait;
use serde::Serialize;

/// A dependency the readiness check looks at (database, queue, blob store...).
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// A short stable name (`database`).
    fn name(&self) -> &str;
    /// Whether the service is unusable when this probe fails (readiness 503).
    fn critical(&self) -> bool {
        true
    }
    /// Checks the dependency; the error says what is wrong, without secrets.
    async fn check(&self) -> Result<(), String>;
}

/// The outcome of one probe.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// Probe name.
    pub name: String,
    /// `ok` or `error`.
    pub status: &'static str,
    /// Whether a failure makes the whole service unready.
    pub critical: bool,
    /// How long the check took.
    pub latency_ms: u64,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
