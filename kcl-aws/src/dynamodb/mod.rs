//! The [`AuditLog`], [`StatusStore`] and [`SalesDays`] ports on DynamoDB, in one
//! table with a generic key (`pk` string partition key, `sk` string sort key). The
//! item layout is in `docs/dynamodb.md`.
//!
//! `mod.rs` holds the table (provisioning, checks) and the attribute helpers every
//! port uses; each port has its file: `audit.rs`, `status.rs`, `sales_days.rs`.

mod audit;
mod sales_days;
mod status;

pub use audit::DynamoAuditLog;
pub use sales_days::DynamoSalesDays;
pub use status::DynamoStatusStore;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use kcl_core::ports::HealthProbe;

use crate::sdk;
use crate::AwsError;

pub(super) type Item = HashMap<String, AttributeValue>;

/// One DynamoDB table (`pk` + `sk` strings) holding KCL items of several kinds.
#[derive(Debug, Clone)]
pub struct DynamoTable {
    pub(super) client: Client,
    pub(super) name: String,
}

impl DynamoTable {
    /// The table `name` (`dynamodb://` prefix allowed). Does not contact DynamoDB.
    pub fn new(sdk: &SdkConfig, name: &str) -> Result<Self, AwsError> {
        let name = name.strip_prefix("dynamodb://").unwrap_or(name);
        let ok = (3..=255).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !ok {
            return Err(AwsError::Config(format!(
                "bad DynamoDB table name {name:?}: 3 to 255 of a-z A-Z 0-9 _ - . \
                 (expected dynamodb://<table>)"
            )));
        }
        Ok(Self {
            client: Client::new(sdk),
            name: name.to_owned(),
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that the table exists, is reachable and has the expected key.
    pub async fn check(&self) -> Result<(), AwsError> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .map_err(|e| {
                AwsError::Unreachable(format!(
                    "DynamoDB table {}: {}",
                    self.name,
                    sdk::describe(&e)
                ))
            })?;
        let keys: Vec<(String, String)> = out
            .table()
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect();
        let want = [
            ("pk".to_owned(), "HASH".to_owned()),
            ("sk".to_owned(), "RANGE".to_owned()),
        ];
        if keys != want {
            return Err(AwsError::Config(format!(
                "DynamoDB table {} has key {keys:?}; KCL needs pk (HASH, string) + sk (RANGE, string)",
                self.name
            )));
        }
        Ok(())
    }

    /// Creates the table (on-demand billing) if it does not exist and waits until it
    /// is active (development and tests).
    pub async fn provision(&self) -> Result<(), AwsError> {
        if self.check().await.is_ok() {
            return Ok(());
        }
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("key schema")
        };
        match self
            .client
            .create_table()
            .table_name(&self.name)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if sdk::code(&e) == Some("ResourceInUseException") => {}
            Err(e) => {
                return Err(AwsError::Unreachable(format!(
                    "cannot create DynamoDB table {}: {}",
                    self.name,
                    sdk::describe(&e)
                )))
            }
        }
        for _ in 0..120 {
            let active = self
                .client
                .describe_table()
                .table_name(&self.name)
                .send()
                .await
                .ok()
                .and_then(|o| o.table().and_then(|t| t.table_status().cloned()))
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return self.check().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(AwsError::Unreachable(format!(
            "DynamoDB table {} did not become ACTIVE within 60 s",
            self.name
        )))
    }
}

#[async_trait]
impl HealthProbe for DynamoTable {
    fn name(&self) -> &str {
        "audit"
    }

    async fn check(&self) -> Result<(), String> {
        DynamoTable::check(self).await.map_err(|e| e.to_string())
    }
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| format!("item without string attribute {name}"))
}

/// Nanosecond, fixed-width UTC time: sorts as text in time order (years 0 to 9999).
pub(super) fn sort_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}
