//! Lambda metrics in CloudWatch Embedded Metric Format: the task series the worker
//! host serves on `/metrics` (`kcl_tasks_total`, `kcl_task_duration_seconds`),
//! written to stdout as JSON documents after each invocation, which CloudWatch
//! Logs turns into metrics (no agent, no API call, no extra latency).

use std::sync::OnceLock;

use metrics_cloudwatch_embedded::Collector;

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the EMF recorder as the process's `metrics` recorder, with namespace
/// `namespace` and the dimension `function` = `AWS_LAMBDA_FUNCTION_NAME` (when
/// set). The Lambda handlers of [`crate::lambda`] flush it after each invocation.
///
/// Returns `false` (and records nothing) when another recorder is installed
/// already, or `KCL_METRICS=off`. Call it once, first thing in a Lambda's `main`;
/// later calls return the first call's answer.
pub fn install_emf_metrics(namespace: &str) -> bool {
    COLLECTOR
        .get_or_init(|| {
            let off = std::env::var("KCL_METRICS")
                .is_ok_and(|v| matches!(v.trim(), "off" | "0" | "false"));
            if off {
                return None;
            }
            let mut builder = metrics_cloudwatch_embedded::Builder::new()
                .cloudwatch_namespace(namespace.to_owned());
            if let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
                builder = builder.with_dimension("function", function);
            }
            match builder.init() {
                Ok(collector) => Some(collector),
                Err(e) => {
                    tracing::warn!(error = %e, "Lambda metrics (EMF) not installed");
                    None
                }
            }
        })
        .is_some()
}

/// Writes the metrics recorded since the last flush to `out` as one EMF document
/// per dimension set; nothing when [`install_emf_metrics`] was not called.
pub fn flush_emf_metrics(out: impl std::io::Write) {
    if let Some(Some(collector)) = COLLECTOR.get() {
        if let Err(e) = collector.flush(out) {
            tracing::warn!(error = %e, "Lambda metrics could not be written");
        }
    }
}

/// Records one finished task as the worker host does.
pub(crate) fn record_task(kind: &'static str, outcome: &'static str, seconds: f64) {
    metrics::counter!("kcl_tasks_total", "kind" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!("kcl_task_duration_seconds", "kind" => kind).record(seconds);
}
