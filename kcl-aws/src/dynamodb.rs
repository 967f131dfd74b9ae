//! The [`AuditLog`], [`StatusStore`] and [`SalesDays`] ports on DynamoDB, in one
//! table with a generic key (`pk` string partition key, `sk` string sort key). The
//! item layout is in `docs/dynamodb.md`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    Put, PutRequest, ScalarAttributeType, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use kcl_core::domain::{
    AuditAction, AuditEvent, DayTotals, EntityKind, EntityRef, EventId, Quantity,
};
use kcl_core::ports::{
    AuditLog, AuditLogError, HealthProbe, ProcessingState, ProcessingStatus, SalesDays,
    SalesRepoError, StatusCondition, StatusStore, StatusStoreError,
};

use crate::sdk;
use crate::AwsError;

type Item = HashMap<String, AttributeValue>;

/// One DynamoDB table (`pk` + `sk` strings) holding KCL items of several kinds.
#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    name: String,
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

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| format!("item without string attribute {name}"))
}

/// Nanosecond, fixed-width UTC time: sorts as text in time order (years 0 to 9999).
fn sort_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

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

/// The [`SalesDays`] on a [`DynamoTable`]: one item per store and day,
/// `pk = SALESDAY#{store_id}`, `sk = {YYYY-MM-DD}`, with the totals as numbers
/// (`lines`, `quantity` in thousandths, `revenue` in cents). A store's days are one
/// partition sorted by date, so a period is one `Query` with `sk BETWEEN`.
///
/// Writes are absolute values (`BatchWriteItem`, 25 items a request, unprocessed
/// items retried with back-off), so repeating one is harmless; a day with zero lines
/// is deleted. Each item is written atomically, the batch as a whole is not: a
/// failed `put` may have stored some of its days, and repeating it completes them.
#[derive(Debug, Clone)]
pub struct DynamoSalesDays {
    table: DynamoTable,
}

/// Items in one `BatchWriteItem` request (DynamoDB's limit).
const BATCH_ITEMS: usize = 25;
/// Attempts at a batch's unprocessed items before giving up (`Unavailable`).
const BATCH_ATTEMPTS: u32 = 8;
/// The longest store id kept (DynamoDB's partition key limit is 2048 bytes).
const MAX_STORE_BYTES: usize = 1024;
/// Dates kept as `YYYY-MM-DD`: four-digit years, so text order is date order.
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(0, 1, 1).expect("a date");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");

impl DynamoSalesDays {
    /// The daily sales totals in `table`.
    pub fn new(table: DynamoTable) -> Self {
        Self { table }
    }

    /// Sends one batch of at most 25 writes, retrying what DynamoDB leaves
    /// unprocessed (throttling) with exponential back-off.
    async fn write_batch(&self, mut writes: Vec<WriteRequest>) -> Result<(), SalesRepoError> {
        let mut delay = std::time::Duration::from_millis(50);
        for attempt in 1..=BATCH_ATTEMPTS {
            let out = self
                .table
                .client
                .batch_write_item()
                .request_items(&self.table.name, writes)
                .send()
                .await
                .map_err(|e| sdk::port_error::<SalesRepoError, _, _>(&e))?;
            writes = out
                .unprocessed_items()
                .and_then(|m| m.get(&self.table.name))
                .cloned()
                .unwrap_or_default();
            if writes.is_empty() {
                return Ok(());
            }
            if attempt < BATCH_ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
        }
        Err(SalesRepoError::Unavailable(
            format!(
                "DynamoDB table {}: {} daily totals still unprocessed after {BATCH_ATTEMPTS} attempts (throttled)",
                self.table.name,
                writes.len()
            )
            .into(),
        ))
    }
}

fn sales_day_pk(store: &str) -> String {
    format!("SALESDAY#{store}")
}

fn sales_day_sk(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn check_store(store: &str) -> Result<(), SalesRepoError> {
    if store.is_empty() || store.len() > MAX_STORE_BYTES {
        return Err(SalesRepoError::InvalidInput(format!(
            "a store id must be 1 to {MAX_STORE_BYTES} bytes"
        )));
    }
    Ok(())
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .ok_or_else(|| format!("item without number attribute {name}"))?
        .parse()
        .map_err(|e| format!("bad {name}: {e}"))
}

fn decode_day(store: &str, item: &Item) -> Result<DayTotals, String> {
    let date = text(item, "sk")?;
    Ok(DayTotals {
        store_id: store.to_owned(),
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|e| format!("bad sk {date:?}: {e}"))?,
        lines: number(item, "lines")?,
        quantity: Quantity::from_thousandths(number(item, "quantity")?),
        revenue_cents: number(item, "revenue")?,
    })
}

#[async_trait]
impl SalesDays for DynamoSalesDays {
    async fn put(&self, days: &[DayTotals]) -> Result<(), SalesRepoError> {
        // One write per key, the last one winning (a batch refuses duplicate keys).
        let mut latest: HashMap<(&str, NaiveDate), &DayTotals> = HashMap::new();
        let mut order = Vec::new();
        for d in days {
            check_store(&d.store_id)?;
            if !(FIRST_DAY..=LAST_DAY).contains(&d.date) {
                return Err(SalesRepoError::InvalidInput(format!(
                    "date {} is outside years 0 to 9999",
                    d.date
                )));
            }
            if latest.insert((d.store_id.as_str(), d.date), d).is_none() {
                order.push((d.store_id.as_str(), d.date));
            }
        }
        let mut writes = Vec::with_capacity(order.len());
        for key in &order {
            let d = latest[key];
            let build =
                |e: aws_sdk_dynamodb::error::BuildError| SalesRepoError::Internal(Box::new(e));
            let write = if d.lines == 0 {
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("pk", s(sales_day_pk(&d.store_id)))
                            .key("sk", s(sales_day_sk(d.date)))
                            .build()
                            .map_err(build)?,
                    )
                    .build()
            } else {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("pk", s(sales_day_pk(&d.store_id)))
                            .item("sk", s(sales_day_sk(d.date)))
                            .item("lines", AttributeValue::N(d.lines.to_string()))
                            .item(
                                "quantity",
                                AttributeValue::N(d.quantity.thousandths().to_string()),
                            )
                            .item("revenue", AttributeValue::N(d.revenue_cents.to_string()))
                            .build()
                            .map_err(build)?,
                    )
                    .build()
            };
            writes.push(write);
        }
        while !writes.is_empty() {
            let rest = writes.split_off(writes.len().min(BATCH_ITEMS));
            self.write_batch(writes).await?;
            writes = rest;
        }
        Ok(())
    }

    async fn range(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, SalesRepoError> {
        check_store(store)?;
        // Keys only exist for years 0 to 9999; BETWEEN refuses a reversed range.
        let (from, to) = (from.max(FIRST_DAY), to.min(LAST_DAY));
        if from > to {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .table
                .client
                .query()
                .table_name(&self.table.name)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(sales_day_pk(store)))
                .expression_attribute_values(":from", s(sales_day_sk(from)))
                .expression_attribute_values(":to", s(sales_day_sk(to)))
                .scan_index_forward(true)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk::port_error::<SalesRepoError, _, _>(&e))?;
            for item in page.items() {
                out.push(decode_day(store, item).map_err(|e| SalesRepoError::Internal(e.into()))?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }
}
