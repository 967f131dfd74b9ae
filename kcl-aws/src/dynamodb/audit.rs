//! The [`AuditLog`] on DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use kcl_core::domain::{AuditAction, AuditEvent, EntityKind, EntityRef, EventId};
use kcl_core::ports::{AuditLog, AuditLogError};

use super::{s, sort_time, text, DynamoTable, Item};
use crate::sdk;

/// The [`AuditLog`] on a [`DynamoTable`].
///
/// An entity's events share the partition `audit#{type}#{id}`, sorted by
/// `{occurred_at}#{appended_at}#{event_id}`, so a history is one `Query` in time
/// order (ties in append order), and entities spread over partitions. A second item
/// `audit-id#{event_id}` written in the same transaction makes event ids unique.
#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    table: DynamoTable,
}

impl DynamoAuditLog {
    /// The audit log in `table`.
    pub fn new(table: DynamoTable) -> Self {
        Self { table }
    }
}

fn partition(entity: &EntityRef) -> String {
    format!("audit#{}#{}", entity.kind.as_str(), entity.id)
}

fn decode_event(item: &Item) -> Result<AuditEvent, String> {
    let event_id = text(item, "event_id")?
        .parse()
        .map_err(|e| format!("bad event_id: {e}"))?;
    let action: AuditAction =
        serde_json::from_value(serde_json::Value::String(text(item, "action")?.to_owned()))
            .map_err(|e| format!("bad action: {e}"))?;
    let kind = EntityKind::parse(text(item, "entity_type")?).map_err(|e| e.to_string())?;
    let data = serde_json::from_str(text(item, "data")?).map_err(|e| format!("bad data: {e}"))?;
    let occurred_at = DateTime::parse_from_rfc3339(text(item, "occurred_at")?)
        .map_err(|e| format!("bad occurred_at: {e}"))?
        .with_timezone(&Utc);
    Ok(AuditEvent {
        event_id: EventId(event_id),
        action,
        entity: EntityRef {
            kind,
            id: text(item, "entity_id")?.to_owned(),
        },
        data,
        occurred_at,
    })
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError> {
        let action = serde_json::to_value(event.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let sk = format!(
            "{}#{}#{}",
            sort_time(event.occurred_at),
            sort_time(Utc::now()),
            event.event_id
        );
        let marker = Put::builder()
            .table_name(&self.table.name)
            .item("pk", s(format!("audit-id#{}", event.event_id)))
            .item("sk", s("-"))
            .item("event_pk", s(partition(&event.entity)))
            .item("event_sk", s(sk.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| AuditLogError::Internal(Box::new(e)))?;
        let put = Put::builder()
            .table_name(&self.table.name)
            .item("pk", s(partition(&event.entity)))
            .item("sk", s(sk))
            .item("event_id", s(event.event_id.to_string()))
            .item("action", s(action))
            .item("entity_type", s(event.entity.kind.as_str()))
            .item("entity_id", s(event.entity.id.clone()))
            .item("data", s(event.data.to_string()))
            .item(
                "occurred_at",
                s(event
                    .occurred_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            )
            .build()
            .map_err(|e| AuditLogError::Internal(Box::new(e)))?;
        let result = self
            .table
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t)
                        if t.cancellation_reasons().first().and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                ) =>
            {
                Err(AuditLogError::DuplicateId(event.event_id))
            }
            Err(e) => Err(sdk::port_error::<AuditLogError, _, _>(&e)),
        }
    }

    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit as usize {
            let page = self
                .table
                .client
                .query()
                .table_name(&self.table.name)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(partition(entity)))
                .scan_index_forward(true)
                .limit((limit as usize - out.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk::port_error::<AuditLogError, _, _>(&e))?;
            for item in page.items() {
                out.push(decode_event(item).map_err(|e| AuditLogError::Internal(e.into()))?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }
}
