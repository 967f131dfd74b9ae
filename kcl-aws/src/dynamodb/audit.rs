//! The [`AuditLog`] on DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use kcl_core::domain::{
    AuditAction, AuditEvent, AuditPosition, AuditQuery, EntityKind, EntityRef, EventId,
};
use kcl_core::ports::{AuditLog, AuditLogError};

use super::{s, sort_time, text, DynamoTable, Item, AUDIT_INDEX};
use crate::sdk;

/// The [`AuditLog`] on a [`DynamoTable`].
///
/// An entity's events share the partition `audit#{type}#{id}`, sorted by
/// `{occurred_at}#{appended_at}#{event_id}`, so a history is one `Query` in time
/// order (ties in append order), and entities spread over partitions. A second item
/// `audit-id#{event_id}` written in the same transaction makes event ids unique.
/// Each event also carries the keys of the table's [`AUDIT_INDEX`]
/// (`action_pk = audit-action#{action}`, `action_sk = {occurred_at}#{event_id}`),
/// which answers [`AuditLog::search`].
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

/// The index partition of an action's events about one kind of entity.
fn action_partition(action: AuditAction, kind: EntityKind) -> String {
    format!("audit-action#{}#{}", action.as_str(), kind.as_str())
}

/// The index's sort key: newest first is descending order.
fn action_sort(p: &AuditPosition) -> String {
    format!("{}#{}", sort_time(p.occurred_at), p.event_id)
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
            .item(
                "action_pk",
                s(action_partition(event.action, event.entity.kind)),
            )
            .item("action_sk", s(action_sort(&AuditPosition::of(event))))
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

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        // One index partition per action and kind of entity: those the query names
        // (every action's, every kind's when it names none), whose newest events
        // are merged. No filter: every item read is an answer.
        let actions = match query.action {
            Some(a) => vec![a],
            None => AuditAction::ALL.to_vec(),
        };
        let kinds = match query.entity_type {
            Some(k) => vec![k],
            None => EntityKind::ALL.to_vec(),
        };
        if let (Some(from), Some(p)) = (query.from, query.before) {
            if p.occurred_at < from {
                return Ok(Vec::new());
            }
        }
        let pages = actions
            .iter()
            .flat_map(|a| kinds.iter().map(move |k| (*a, *k)))
            .map(|(a, k)| self.search_partition(action_partition(a, k), query));
        let mut out: Vec<AuditEvent> = futures::future::try_join_all(pages)
            .await?
            .into_iter()
            .flatten()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(AuditPosition::of(e)));
        out.truncate(query.limit as usize);
        Ok(out)
    }
}

impl DynamoAuditLog {
    /// The newest `query.limit` events of one index partition within `query`'s
    /// window: one `Query` of the index, newest first (more only past 1 MB).
    async fn search_partition(
        &self,
        partition: String,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        // Upper bound, exclusive: the window's end (no key equals a bare time: keys
        // go on with `#{event_id}`) or the cursor's key, whichever comes first.
        let upper = [
            query.until.map(sort_time),
            query.before.as_ref().map(action_sort),
        ]
        .into_iter()
        .flatten()
        .min();
        let lower = query.from.map(sort_time);
        if let (Some(lo), Some(hi)) = (&lower, &upper) {
            // An empty window (a cursor before `from`): DynamoDB refuses BETWEEN
            // with its bounds the wrong way round.
            if lo >= hi {
                return Ok(Vec::new());
            }
        }
        let mut condition = "action_pk = :pk".to_owned();
        match (&lower, &upper) {
            // BETWEEN is inclusive: the upper key itself is dropped below.
            (Some(_), Some(_)) => condition.push_str(" AND action_sk BETWEEN :lo AND :hi"),
            (Some(_), None) => condition.push_str(" AND action_sk >= :lo"),
            (None, Some(_)) => condition.push_str(" AND action_sk < :hi"),
            (None, None) => {}
        }
        let want = query.limit as usize;
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .table
                .client
                .query()
                .table_name(&self.table.name)
                .index_name(AUDIT_INDEX)
                .key_condition_expression(condition.as_str())
                .expression_attribute_values(":pk", s(partition.clone()))
                .scan_index_forward(false)
                .limit((want + 1 - out.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take());
            if let Some(lo) = &lower {
                request = request.expression_attribute_values(":lo", s(lo.clone()));
            }
            if let Some(hi) = &upper {
                request = request.expression_attribute_values(":hi", s(hi.clone()));
            }
            let page = request
                .send()
                .await
                .map_err(|e| sdk::port_error::<AuditLogError, _, _>(&e))?;
            for item in page.items() {
                let at_upper = upper.is_some()
                    && item.get("action_sk").and_then(|v| v.as_s().ok()) == upper.as_ref();
                if !at_upper {
                    out.push(decode_event(item).map_err(|e| AuditLogError::Internal(e.into()))?);
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() && out.len() < want => start = Some(k.clone()),
                _ => break,
            }
        }
        out.truncate(want);
        Ok(out)
    }
}
