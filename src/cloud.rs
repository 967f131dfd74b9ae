//! Opening the AWS-profile adapters the configuration names (S3, SQS, DynamoDB),
//! with one AWS SDK configuration shared by all of them.

use std::sync::Arc;

use kcl_core::ports::{AuditLog, BlobStore, HealthProbe, SalesDays, StatusStore, TaskQueue};

use crate::runtime::StartError;

/// Lazily loaded AWS configuration, and whether to create missing resources.
pub(crate) struct Cloud {
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    provision: bool,
    #[cfg(feature = "aws")]
    sdk: Option<kcl_aws::SdkConfig>,
}

#[cfg(feature = "aws")]
fn adapter(variable: &str, e: kcl_aws::AwsError) -> StartError {
    StartError::Adapter {
        what: variable.to_owned(),
        source: Box::new(e),
    }
}

#[cfg(feature = "aws")]
impl Cloud {
    pub(crate) fn new(provision: bool) -> Self {
        Self {
            provision,
            sdk: None,
        }
    }

    async fn sdk(&mut self, variable: &str) -> Result<kcl_aws::SdkConfig, StartError> {
        if self.sdk.is_none() {
            self.sdk = Some(
                kcl_aws::config_from_env()
                    .await
                    .map_err(|e| adapter(variable, e))?,
            );
        }
        Ok(self.sdk.clone().expect("loaded"))
    }

    pub(crate) async fn s3(
        &mut self,
        var: &'static str,
        url: &str,
    ) -> Result<Arc<dyn BlobStore>, StartError> {
        let loc = kcl_aws::S3Location::parse(url).map_err(|e| adapter(var, e))?;
        let store = kcl_aws::S3BlobStore::new(&self.sdk(var).await?, &loc);
        if self.provision {
            store.provision().await.map_err(|e| adapter(var, e))?;
        } else {
            store.check().await.map_err(|e| adapter(var, e))?;
        }
        Ok(Arc::new(store))
    }

    pub(crate) async fn sqs(&mut self, name: &str) -> Result<Arc<dyn TaskQueue>, StartError> {
        let var = "KCL_QUEUE";
        let sdk = self.sdk(var).await?;
        let queue = if self.provision {
            kcl_aws::SqsQueue::provision(&sdk, name, kcl_core::ports::QueueConfig::default()).await
        } else {
            kcl_aws::SqsQueue::open(&sdk, name).await
        }
        .map_err(|e| adapter(var, e))?;
        Ok(Arc::new(queue))
    }

    async fn table(&mut self, var: &str, name: &str) -> Result<kcl_aws::DynamoTable, StartError> {
        let table =
            kcl_aws::DynamoTable::new(&self.sdk(var).await?, name).map_err(|e| adapter(var, e))?;
        if self.provision {
            table.provision().await.map_err(|e| adapter(var, e))?;
        } else {
            table.check().await.map_err(|e| adapter(var, e))?;
        }
        Ok(table)
    }

    pub(crate) async fn audit(
        &mut self,
        name: &str,
    ) -> Result<(Arc<dyn AuditLog>, Arc<dyn HealthProbe>), StartError> {
        let table = self.table("KCL_AUDIT", name).await?;
        if !self.provision {
            // `provision` added the index already.
            table
                .check_audit_index()
                .await
                .map_err(|e| adapter("KCL_AUDIT", e))?;
        }
        Ok((
            Arc::new(kcl_aws::DynamoAuditLog::new(table.clone())),
            Arc::new(table),
        ))
    }

    pub(crate) async fn status(&mut self, name: &str) -> Result<Arc<dyn StatusStore>, StartError> {
        let table = self.table("KCL_STATUS", name).await?;
        Ok(Arc::new(kcl_aws::DynamoStatusStore::new(table)))
    }

    pub(crate) async fn sales_days(
        &mut self,
        name: &str,
    ) -> Result<Arc<dyn SalesDays>, StartError> {
        let table = self.table("KCL_AUDIT", name).await?;
        Ok(Arc::new(kcl_aws::DynamoSalesDays::new(table)))
    }
}

#[cfg(not(feature = "aws"))]
fn no_aws(variable: &'static str, value: &str) -> StartError {
    crate::ConfigError {
        variable,
        value: value.to_owned(),
        reason: "this build has no `aws` feature (cargo ... --features aws)".into(),
    }
    .into()
}

#[cfg(not(feature = "aws"))]
impl Cloud {
    pub(crate) fn new(provision: bool) -> Self {
        Self { provision }
    }

    pub(crate) async fn s3(
        &mut self,
        var: &'static str,
        url: &str,
    ) -> Result<Arc<dyn BlobStore>, StartError> {
        Err(no_aws(var, url))
    }

    pub(crate) async fn sqs(&mut self, name: &str) -> Result<Arc<dyn TaskQueue>, StartError> {
        Err(no_aws("KCL_QUEUE", name))
    }

    pub(crate) async fn audit(
        &mut self,
        name: &str,
    ) -> Result<(Arc<dyn AuditLog>, Arc<dyn HealthProbe>), StartError> {
        Err(no_aws("KCL_AUDIT", name))
    }

    pub(crate) async fn status(&mut self, name: &str) -> Result<Arc<dyn StatusStore>, StartError> {
        Err(no_aws("KCL_STATUS", name))
    }

    pub(crate) async fn sales_days(
        &mut self,
        name: &str,
    ) -> Result<Arc<dyn SalesDays>, StartError> {
        Err(no_aws("KCL_AUDIT", name))
    }
}
