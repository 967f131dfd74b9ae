//! The [`StatusStore`] on DynamoDB.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use kcl_core::ports::{
    ProcessingState, ProcessingStatus, StatusCondition, StatusStore, StatusStoreError,
};

use super::{s, text, DynamoTable};
use crate::sdk;

/// The [`StatusStore`] on a [`DynamoTable`]: one item per object key
/// (`pk = status#{key}`, `sk = -`), written with a condition expression so the
/// check and the write are one atomic step.
#[derive(Debug, Clone)]
pub struct DynamoStatusStore {
    table: DynamoTable,
}

impl DynamoStatusStore {
    /// The status store in `table`.
    pub fn new(table: DynamoTable) -> Self {
        Self { table }
    }
}

fn status_pk(key: &str) -> String {
    format!("status#{key}")
}

#[async_trait]
impl StatusStore for DynamoStatusStore {
    async fn get(&self, key: &str) -> Result<Option<ProcessingStatus>, StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        let out = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key("pk", s(status_pk(key)))
            .key("sk", s("-"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk::port_error::<StatusStoreError, _, _>(&e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let decode = || -> Result<ProcessingStatus, String> {
            Ok(ProcessingStatus {
                key: key.to_owned(),
                status: ProcessingState::parse(text(item, "status")?).map_err(|e| e.to_string())?,
                message: text(item, "message")?.to_owned(),
                updated_at: DateTime::parse_from_rfc3339(text(item, "updated_at")?)
                    .map_err(|e| e.to_string())?
                    .with_timezone(&Utc),
            })
        };
        decode()
            .map(Some)
            .map_err(|e| StatusStoreError::Internal(e.into()))
    }

    async fn put(
        &self,
        status: &ProcessingStatus,
        condition: StatusCondition<'_>,
    ) -> Result<bool, StatusStoreError> {
        ProcessingStatus::check_key(&status.key)?;
        let mut req = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("pk", s(status_pk(&status.key)))
            .item("sk", s("-"))
            .item("status", s(status.status.as_str()))
            .item("message", s(status.message.clone()))
            .item(
                "updated_at",
                s(status
                    .updated_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            );
        let in_list = |states: &[ProcessingState]| {
            (0..states.len())
                .map(|i| format!(":s{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let states: &[ProcessingState] = match condition {
            StatusCondition::Always => &[],
            StatusCondition::Absent => {
                req = req.condition_expression("attribute_not_exists(pk)");
                &[]
            }
            StatusCondition::In(states) => {
                if states.is_empty() {
                    return Ok(false);
                }
                req = req.condition_expression(format!("#st IN ({})", in_list(states)));
                states
            }
            StatusCondition::AbsentOrIn(states) => {
                req = req.condition_expression(if states.is_empty() {
                    "attribute_not_exists(pk)".to_owned()
                } else {
                    format!("attribute_not_exists(pk) OR #st IN ({})", in_list(states))
                });
                states
            }
        };
        if !states.is_empty() {
            req = req.expression_attribute_names("#st", "status");
            for (i, st) in states.iter().enumerate() {
                req = req.expression_attribute_values(format!(":s{i}"), s(st.as_str()));
            }
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if sdk::code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk::port_error::<StatusStoreError, _, _>(&e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StatusStoreError> {
        ProcessingStatus::check_key(key)?;
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key("pk", s(status_pk(key)))
            .key("sk", s("-"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk::port_error::<StatusStoreError, _, _>(&e))
    }
}
