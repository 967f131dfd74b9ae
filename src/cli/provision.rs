//! `kcl provision`: the provisioning helper for development and tests (production
//! resources belong to infrastructure code).

use super::Error;
use crate::{Config, Kcl};

/// Runs `kcl provision`: opens KCL as `KCL_AUTO_PROVISION=1` would (creating missing
/// buckets, queues with their dead-letter queue, and tables), prints every adapter's
/// health check, and fails when one does not answer.
pub async fn run() -> Result<(), Error> {
    let mut config = Config::from_env()?;
    config.auto_provision = true;
    let kcl = Kcl::open(&config).await?;
    let (ok, checks) = kcl.services.health.check().await;
    kcl.close().await;
    for c in &checks {
        println!(
            "{:<10} {:<6} {}",
            c.name,
            c.status,
            c.error.as_deref().unwrap_or("")
        );
    }
    if ok {
        Ok(())
    } else {
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| c.critical && c.error.is_some())
            .map(|c| c.name.as_str())
            .collect();
        Err(format!("not ready: {}", failed.join(", ")).into())
    }
}
