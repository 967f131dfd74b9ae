use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    AuditEvent, DayTotals, GroupBy, LoadOutcome, Quantity, ReportLine, RowSpool, SalesFile,
    SpooledRow, StockChange, StockLevel, StoreDay, SummaryQuery, SummaryRow,
};
use crate::ports::{AuditLog, AuditLogError, AuditOutbox, SalesDays, SalesRepo, SalesRepoError};

#[derive(Default)]
struct State {
    /// Current files by name.
    files: HashMap<String, SalesFile>,
    /// Lines by load id.
    lines: HashMap<uuid::Uuid, Vec<SpooledRow>>,
    stock: HashMap<String, StockLevel>,
}

/// Sales lines, files and stock in memory. Loads are atomic: the spool is read
/// fully before anything changes.
#[derive(Default)]
pub struct MemorySales {
    state: Mutex<State>,
    /// Audit events of committed changes, until [`AuditOutbox::relay`] moves them.
    outbox: super::outbox::PendingEvents,
}

impl MemorySales {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn add_stock(stock: &mut HashMap<String, StockLevel>, sku: &str, delta: i64, now: DateTime<Utc>) {
    let level = stock.entry(sku.to_owned()).or_insert_with(|| StockLevel {
        sku: sku.to_owned(),
        quantity: Quantity::from_thousandths(0),
        updated_at: now,
    });
    level.quantity = Quantity::from_thousandths(level.quantity.thousandths() + delta);
    level.updated_at = now;
}

fn in_range(d: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
}

#[async_trait]
impl SalesRepo for MemorySales {
    async fn load(
        &self,
        file: &SalesFile,
        rows: &dyn RowSpool,
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError> {
        let new_rows: Vec<SpooledRow> = rows
            .read()
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| SalesRepoError::Internal(Box::new(e)))?;
        let mut st = self.lock();
        if let Some(dup) = st.files.values().find(|f| f.sha256 == file.sha256) {
            return Ok(LoadOutcome::Duplicate(dup.clone()));
        }
        let mut days = BTreeSet::new();
        let replaced = st.files.remove(&file.name);
        if let Some(old) = &replaced {
            for r in st.lines.remove(&old.id).unwrap_or_default() {
                add_stock(&mut st.stock, &r.sku, r.quantity, file.loaded_at);
                days.insert(StoreDay {
                    store_id: r.store_id,
                    date: r.sale_date,
                });
            }
        }
        for r in &new_rows {
            add_stock(&mut st.stock, &r.sku, -r.quantity, file.loaded_at);
            days.insert(StoreDay {
                store_id: r.store_id.clone(),
                date: r.sale_date,
            });
        }
        let n = new_rows.len() as u64;
        st.lines.insert(file.id, new_rows);
        st.files.insert(
            file.name.clone(),
            SalesFile {
                rows: n,
                ..file.clone()
            },
        );
        self.outbox
            .push(&event.noting("replaced", replaced.as_ref().map(|r| r.id)));
        Ok(LoadOutcome::Loaded {
            rows: n,
            replaced,
            days: days.into_iter().collect(),
        })
    }

    async fn current_file(&self, name: &str) -> Result<Option<SalesFile>, SalesRepoError> {
        Ok(self.lock().files.get(name).cloned())
    }

    async fn day_totals(&self, days: &[StoreDay]) -> Result<Vec<DayTotals>, SalesRepoError> {
        let st = self.lock();
        let mut totals: HashMap<&StoreDay, DayTotals> = days
            .iter()
            .map(|d| {
                (
                    d,
                    DayTotals {
                        store_id: d.store_id.clone(),
                        date: d.date,
                        lines: 0,
                        quantity: Quantity::from_thousandths(0),
                        revenue_cents: 0,
                        tax_cents: 0,
                    },
                )
            })
            .collect();
        for r in st.lines.values().flatten() {
            let key = StoreDay {
                store_id: r.store_id.clone(),
                date: r.sale_date,
            };
            if let Some(t) = totals.get_mut(&key) {
                t.lines += 1;
                t.quantity = Quantity::from_thousandths(t.quantity.thousandths() + r.quantity);
                t.revenue_cents += r.revenue_cents;
                t.tax_cents += r.tax_cents;
            }
        }
        Ok(days.iter().map(|d| totals[d].clone()).collect())
    }

    async fn summary(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, SalesRepoError> {
        let st = self.lock();
        let mut groups: BTreeMap<String, SummaryRow> = BTreeMap::new();
        for r in st.lines.values().flatten() {
            if !in_range(r.sale_date, q.from, q.to)
                || q.store.as_ref().is_some_and(|s| *s != r.store_id)
                || q.sku.as_ref().is_some_and(|s| *s != r.sku)
            {
                continue;
            }
            let key = match q.group_by {
                GroupBy::Day => r.sale_date.format("%Y-%m-%d").to_string(),
                GroupBy::Store => r.store_id.clone(),
                GroupBy::Sku => r.sku.clone(),
            };
            let g = groups.entry(key.clone()).or_insert_with(|| SummaryRow {
                key,
                lines: 0,
                quantity: Quantity::from_thousandths(0),
                revenue_cents: 0,
                tax_cents: 0,
            });
            g.lines += 1;
            g.quantity = Quantity::from_thousandths(g.quantity.thousandths() + r.quantity);
            g.revenue_cents += r.revenue_cents;
            g.tax_cents += r.tax_cents;
        }
        Ok(groups.into_values().collect())
    }

    async fn report_lines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReportLine>, SalesRepoError> {
        let st = self.lock();
        let mut groups: BTreeMap<(NaiveDate, String, String), ReportLine> = BTreeMap::new();
        for r in st.lines.values().flatten() {
            if !in_range(r.sale_date, Some(from), Some(to))
                || store.is_some_and(|s| s != r.store_id)
            {
                continue;
            }
            let g = groups
                .entry((r.sale_date, r.store_id.clone(), r.sku.clone()))
                .or_insert_with(|| ReportLine {
                    date: r.sale_date,
                    store_id: r.store_id.clone(),
                    sku: r.sku.clone(),
                    product_name: None,
                    lines: 0,
                    quantity: Quantity::from_thousandths(0),
                    revenue_cents: 0,
                    tax_cents: 0,
                });
            g.lines += 1;
            g.quantity = Quantity::from_thousandths(g.quantity.thousandths() + r.quantity);
            g.revenue_cents += r.revenue_cents;
            g.tax_cents += r.tax_cents;
            // The greatest name seen, as the SQL adapters' MAX().
            if r.product_name.is_some() && r.product_name > g.product_name {
                g.product_name = r.product_name.clone();
            }
        }
        Ok(groups.into_values().take(limit as usize).collect())
    }

    async fn stock(&self, sku: &str) -> Result<Option<StockLevel>, SalesRepoError> {
        Ok(self.lock().stock.get(sku).cloned())
    }

    async fn change_stock(
        &self,
        sku: &str,
        change: StockChange,
        now: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<StockLevel, SalesRepoError> {
        let mut st = self.lock();
        match change {
            StockChange::Set(q) => {
                st.stock.insert(
                    sku.to_owned(),
                    StockLevel {
                        sku: sku.to_owned(),
                        quantity: q,
                        updated_at: now,
                    },
                );
            }
            StockChange::Receive(q) => add_stock(&mut st.stock, sku, q.thousandths(), now),
        }
        let level = st.stock[sku].clone();
        self.outbox
            .push(&event.noting("on_hand", level.quantity.to_string()));
        Ok(level)
    }
}

#[async_trait]
impl AuditOutbox for MemorySales {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        self.outbox.relay(log, limit).await
    }
}

/// Per store and day totals in memory.
#[derive(Default)]
pub struct MemorySalesDays {
    days: Mutex<BTreeMap<(String, NaiveDate), DayTotals>>,
}

#[async_trait]
impl SalesDays for MemorySalesDays {
    async fn put(&self, days: &[DayTotals]) -> Result<(), SalesRepoError> {
        let mut map = self.days.lock().unwrap_or_else(|e| e.into_inner());
        for d in days {
            let key = (d.store_id.clone(), d.date);
            if d.lines == 0 {
                map.remove(&key);
            } else {
                map.insert(key, d.clone());
            }
        }
        Ok(())
    }

    async fn range(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, SalesRepoError> {
        if from > to {
            return Ok(Vec::new());
        }
        let map = self.days.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .range((store.to_owned(), from)..=(store.to_owned(), to))
            .map(|(_, d)| d.clone())
            .collect())
    }
}
