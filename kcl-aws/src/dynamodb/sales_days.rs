//! The [`SalesDays`] port on DynamoDB.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::NaiveDate;
use kcl_core::domain::{DayTotals, Quantity};
use kcl_core::ports::{SalesDays, SalesRepoError};

use super::{s, text, DynamoTable, Item};
use crate::sdk;

/// The [`SalesDays`] on a [`DynamoTable`]: one item per store and day,
/// `pk = SALESDAY#{store_id}`, `sk = {YYYY-MM-DD}`, with the totals as numbers
/// (`lines`, `quantity` in thousandths, `revenue` and `tax` in cents). A store's days are one
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
        // Days written before tax was kept have no `tax`: none.
        tax_cents: match item.get("tax") {
            None => 0,
            Some(_) => number(item, "tax")?,
        },
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
                            .item("tax", AttributeValue::N(d.tax_cents.to_string()))
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
