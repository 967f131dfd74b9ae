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
    AttributeDefinition, AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction,
    GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
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

    /// The table's description (`DescribeTable`).
    async fn describe(
        &self,
    ) -> Result<aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput, AwsError> {
        self.client
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
            })
    }

    /// Checks that the table exists, is reachable and has the expected key.
    pub async fn check(&self) -> Result<(), AwsError> {
        let out = self.describe().await?;
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

    /// Checks that the table has the audit log's index of events by action
    /// ([`AUDIT_INDEX`]: `action_pk` HASH, `action_sk` RANGE, every attribute
    /// projected), which audit searches query; the audit log's table needs it, a
    /// table holding only statuses does not.
    pub async fn check_audit_index(&self) -> Result<(), AwsError> {
        let out = self.describe().await?;
        let index = out.table().and_then(|t| {
            t.global_secondary_indexes()
                .iter()
                .find(|i| i.index_name() == Some(AUDIT_INDEX))
        });
        let Some(index) = index else {
            return Err(AwsError::Config(format!(
                "DynamoDB table {} has no global secondary index {AUDIT_INDEX}, which audit \
                 searches need (action_pk HASH + action_sk RANGE, strings, projection ALL): \
                 update the stack (deploy/aws/data-plane.yml adds it) or, in development, \
                 start with KCL_AUTO_PROVISION=1; see docs/dynamodb.md",
                self.name
            )));
        };
        let keys: Vec<(&str, &str)> = index
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        let all = index
            .projection()
            .and_then(|p| p.projection_type())
            .is_some_and(|t| *t == ProjectionType::All);
        if keys != [("action_pk", "HASH"), ("action_sk", "RANGE")] || !all {
            return Err(AwsError::Config(format!(
                "DynamoDB table {}: index {AUDIT_INDEX} has key {keys:?} (projection ALL: \
                 {all}); KCL needs action_pk (HASH) + action_sk (RANGE), projection ALL",
                self.name
            )));
        }
        let status = index
            .index_status()
            .map(|s| s.as_str())
            .unwrap_or("unknown");
        if status != "ACTIVE" {
            return Err(AwsError::Unreachable(format!(
                "DynamoDB table {}: index {AUDIT_INDEX} is {status}, not ACTIVE yet \
                 (DynamoDB is building it): start again once it is",
                self.name
            )));
        }
        Ok(())
    }

    /// Creates the table (on-demand billing) with the audit index if it does not
    /// exist, adds the index to a table without it, and waits until both are active
    /// (development and tests).
    pub async fn provision(&self) -> Result<(), AwsError> {
        if self.check().await.is_ok() {
            if self.check_audit_index().await.is_ok() {
                return Ok(());
            }
            return self.add_audit_index().await;
        }
        match self
            .client
            .create_table()
            .table_name(&self.name)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("action_pk"))
            .attribute_definitions(attr("action_sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(AUDIT_INDEX)
                    .key_schema(key("action_pk", KeyType::Hash))
                    .key_schema(key("action_sk", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| AwsError::Config(e.to_string()))?,
            )
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
                .describe()
                .await
                .ok()
                .and_then(|o| o.table().and_then(|t| t.table_status().cloned()))
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                self.check().await?;
                return self.check_audit_index().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(AwsError::Unreachable(format!(
            "DynamoDB table {} did not become ACTIVE within 60 s",
            self.name
        )))
    }

    /// Adds the audit index to an existing table and waits until it is active
    /// (events appended before it carry no index keys: see docs/dynamodb.md).
    async fn add_audit_index(&self) -> Result<(), AwsError> {
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(AUDIT_INDEX)
            .key_schema(key("action_pk", KeyType::Hash))
            .key_schema(key("action_sk", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| AwsError::Config(e.to_string()))?;
        self.client
            .update_table()
            .table_name(&self.name)
            .attribute_definitions(attr("action_pk"))
            .attribute_definitions(attr("action_sk"))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| {
                AwsError::Unreachable(format!(
                    "cannot add index {AUDIT_INDEX} to DynamoDB table {}: {}",
                    self.name,
                    sdk::describe(&e)
                ))
            })?;
        for _ in 0..600 {
            let out = self.describe().await.ok();
            let active = out
                .as_ref()
                .and_then(|o| o.table())
                .and_then(|t| {
                    t.global_secondary_indexes()
                        .iter()
                        .find(|i| i.index_name() == Some(AUDIT_INDEX))
                })
                .and_then(|i| i.index_status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return self.check_audit_index().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(AwsError::Unreachable(format!(
            "index {AUDIT_INDEX} of DynamoDB table {} did not become ACTIVE within 5 min",
            self.name
        )))
    }
}

/// The audit log's global secondary index: events by action, newest first.
pub const AUDIT_INDEX: &str = "by-action";

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("an attribute definition with a name and a type")
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .expect("a key element with a name and a type")
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
