//! [`SalesRepo`] and [`SalesDays`] on SQLite: a file's rows are inserted in
//! batches inside one `BEGIN IMMEDIATE` transaction with the file record and the
//! stock changes, so a load is all or nothing.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::domain::{
    DayTotals, GroupBy, LoadOutcome, Quantity, ReportLine, RowSpool, SalesFile, SpooledRow,
    StockChange, StockLevel, StoreDay, SummaryQuery, SummaryRow,
};
use kcl_core::ports::{SalesDays, SalesRepo, SalesRepoError};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::codec::{date, date_text, micros, time, unsigned, uuid};
use super::fault::db_error;
use super::SqliteStore;

/// Rows per INSERT statement (10 parameters each, under SQLite's 32766).
const BATCH: usize = 500;

fn file_of(row: &SqliteRow) -> Result<SalesFile, SalesRepoError> {
    Ok(SalesFile {
        id: uuid(&row.try_get::<String, _>("id").map_err(db_error)?)?,
        name: row.try_get("name").map_err(db_error)?,
        sha256: row.try_get("sha256").map_err(db_error)?,
        rows: unsigned(row.try_get::<i64, _>("rows").map_err(db_error)?)?,
        loaded_at: time(row.try_get("loaded_at").map_err(db_error)?)?,
    })
}

fn stock_of(row: &SqliteRow) -> Result<StockLevel, SalesRepoError> {
    Ok(StockLevel {
        sku: row.try_get("sku").map_err(db_error)?,
        quantity: Quantity::from_thousandths(row.try_get("quantity").map_err(db_error)?),
        updated_at: time(row.try_get("updated_at").map_err(db_error)?)?,
    })
}

fn push_rows(rows: &[SpooledRow]) -> QueryBuilder<'_, Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO sales_lines (file_id, line, store_id, sale_date, receipt_id, sku, \
         product_name, quantity, unit_price, revenue) ",
    );
    q.push_values(rows, |mut b, r| {
        b.push_bind(r.file_id.to_string())
            .push_bind(r.line as i64)
            .push_bind(r.store_id.as_str())
            .push_bind(date_text(r.sale_date))
            .push_bind(r.receipt_id.as_deref())
            .push_bind(r.sku.as_str())
            .push_bind(r.product_name.as_deref())
            .push_bind(r.quantity)
            .push_bind(r.unit_price_cents)
            .push_bind(r.revenue_cents);
    });
    q
}

/// Adds `sign` x each SKU's quantity in the file's lines to stock.
async fn move_stock(
    tx: &mut sqlx::SqliteConnection,
    file: &str,
    sign: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sales_stock (sku, quantity, updated_at) \
         SELECT sku, ?2 * SUM(quantity), ?3 FROM sales_lines WHERE file_id = ?1 GROUP BY sku \
         ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + excluded.quantity, \
         updated_at = excluded.updated_at",
    )
    .bind(file)
    .bind(sign)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn days_of(
    tx: &mut sqlx::SqliteConnection,
    file: &str,
    into: &mut std::collections::BTreeSet<StoreDay>,
) -> Result<(), SalesRepoError> {
    let rows =
        sqlx::query("SELECT DISTINCT store_id, sale_date FROM sales_lines WHERE file_id = ?")
            .bind(file)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
    for r in rows {
        into.insert(StoreDay {
            store_id: r.try_get("store_id").map_err(db_error)?,
            date: date(&r.try_get::<String, _>("sale_date").map_err(db_error)?)?,
        });
    }
    Ok(())
}

fn spool_error(e: std::io::Error) -> SalesRepoError {
    SalesRepoError::Internal(format!("reading the row spool: {e}").into())
}

#[async_trait]
impl SalesRepo for SqliteStore {
    async fn load(&self, file: &SalesFile, rows: &RowSpool) -> Result<LoadOutcome, SalesRepoError> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let dup = sqlx::query(
            "SELECT id, name, sha256, rows, loaded_at FROM sales_files \
             WHERE sha256 = ? AND replaced_at IS NULL LIMIT 1",
        )
        .bind(&file.sha256)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let Some(row) = dup {
            return Ok(LoadOutcome::Duplicate(file_of(&row)?));
        }
        let now = micros(file.loaded_at);
        let mut days = std::collections::BTreeSet::new();
        let old = sqlx::query(
            "SELECT id, name, sha256, rows, loaded_at FROM sales_files \
             WHERE name = ? AND replaced_at IS NULL",
        )
        .bind(&file.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .map(|r| file_of(&r))
        .transpose()?;
        if let Some(old) = &old {
            let id = old.id.to_string();
            days_of(&mut tx, &id, &mut days).await?;
            move_stock(&mut tx, &id, 1, now).await.map_err(db_error)?;
            sqlx::query("DELETE FROM sales_lines WHERE file_id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            sqlx::query("UPDATE sales_files SET replaced_at = ? WHERE id = ?")
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        let mut batches = rows.read_batches(BATCH);
        let mut n = 0u64;
        while let Some(batch) = batches.recv().await {
            let batch = batch.map_err(spool_error)?;
            if batch.iter().any(|r| r.file_id != file.id) {
                return Err(SalesRepoError::InvalidInput(
                    "the spool holds rows of another load".into(),
                ));
            }
            push_rows(&batch)
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            n += batch.len() as u64;
        }
        let id = file.id.to_string();
        sqlx::query(
            "INSERT INTO sales_files (id, name, sha256, rows, loaded_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&file.name)
        .bind(&file.sha256)
        .bind(n as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        move_stock(&mut tx, &id, -1, now).await.map_err(db_error)?;
        days_of(&mut tx, &id, &mut days).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(LoadOutcome::Loaded {
            rows: n,
            replaced: old,
            days: days.into_iter().collect(),
        })
    }

    async fn current_file(&self, name: &str) -> Result<Option<SalesFile>, SalesRepoError> {
        sqlx::query(
            "SELECT id, name, sha256, rows, loaded_at FROM sales_files \
             WHERE name = ? AND replaced_at IS NULL",
        )
        .bind(name)
        .fetch_optional(&self.db.read)
        .await
        .map_err(db_error)?
        .map(|r| file_of(&r))
        .transpose()
    }

    async fn day_totals(&self, days: &[StoreDay]) -> Result<Vec<DayTotals>, SalesRepoError> {
        let mut out = Vec::with_capacity(days.len());
        for d in days {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, COALESCE(SUM(quantity), 0) AS q, COALESCE(SUM(revenue), 0) AS r \
                 FROM sales_lines WHERE sale_date = ? AND store_id = ?",
            )
            .bind(date_text(d.date))
            .bind(&d.store_id)
            .fetch_one(&self.db.read)
            .await
            .map_err(db_error)?;
            out.push(DayTotals {
                store_id: d.store_id.clone(),
                date: d.date,
                lines: unsigned(row.try_get::<i64, _>("n").map_err(db_error)?)?,
                quantity: Quantity::from_thousandths(row.try_get("q").map_err(db_error)?),
                revenue_cents: row.try_get("r").map_err(db_error)?,
            });
        }
        Ok(out)
    }

    async fn summary(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, SalesRepoError> {
        let key = match q.group_by {
            GroupBy::Day => "sale_date",
            GroupBy::Store => "store_id",
            GroupBy::Sku => "sku",
        };
        let mut b: QueryBuilder<'_, Sqlite> = QueryBuilder::new(format!(
            "SELECT {key} AS k, COUNT(*) AS n, SUM(quantity) AS q, SUM(revenue) AS r \
             FROM sales_lines WHERE 1 = 1"
        ));
        if let Some(f) = q.from {
            b.push(" AND sale_date >= ").push_bind(date_text(f));
        }
        if let Some(t) = q.to {
            b.push(" AND sale_date <= ").push_bind(date_text(t));
        }
        if let Some(s) = &q.store {
            b.push(" AND store_id = ").push_bind(s.as_str());
        }
        if let Some(s) = &q.sku {
            b.push(" AND sku = ").push_bind(s.as_str());
        }
        b.push(format!(" GROUP BY {key} ORDER BY {key}"));
        let rows = b.build().fetch_all(&self.db.read).await.map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(SummaryRow {
                    key: r.try_get("k").map_err(db_error)?,
                    lines: unsigned(r.try_get::<i64, _>("n").map_err(db_error)?)?,
                    quantity: Quantity::from_thousandths(r.try_get("q").map_err(db_error)?),
                    revenue_cents: r.try_get("r").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn report_lines(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        store: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReportLine>, SalesRepoError> {
        let rows = sqlx::query(
            "SELECT sale_date, store_id, sku, MAX(product_name) AS name, COUNT(*) AS n, \
             SUM(quantity) AS q, SUM(revenue) AS r FROM sales_lines \
             WHERE sale_date >= ?1 AND sale_date <= ?2 AND (?3 IS NULL OR store_id = ?3) \
             GROUP BY sale_date, store_id, sku ORDER BY sale_date, store_id, sku LIMIT ?4",
        )
        .bind(date_text(from))
        .bind(date_text(to))
        .bind(store)
        .bind(i64::from(limit))
        .fetch_all(&self.db.read)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(ReportLine {
                    date: date(&r.try_get::<String, _>("sale_date").map_err(db_error)?)?,
                    store_id: r.try_get("store_id").map_err(db_error)?,
                    sku: r.try_get("sku").map_err(db_error)?,
                    product_name: r.try_get("name").map_err(db_error)?,
                    lines: unsigned(r.try_get::<i64, _>("n").map_err(db_error)?)?,
                    quantity: Quantity::from_thousandths(r.try_get("q").map_err(db_error)?),
                    revenue_cents: r.try_get("r").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn stock(&self, sku: &str) -> Result<Option<StockLevel>, SalesRepoError> {
        sqlx::query("SELECT sku, quantity, updated_at FROM sales_stock WHERE sku = ?")
            .bind(sku)
            .fetch_optional(&self.db.read)
            .await
            .map_err(db_error)?
            .map(|r| stock_of(&r))
            .transpose()
    }

    async fn change_stock(
        &self,
        sku: &str,
        change: StockChange,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, SalesRepoError> {
        let (sql, q) = match change {
            StockChange::Set(q) => (
                "INSERT INTO sales_stock (sku, quantity, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sku) DO UPDATE SET quantity = excluded.quantity, updated_at = excluded.updated_at \
                 RETURNING sku, quantity, updated_at",
                q,
            ),
            StockChange::Receive(q) => (
                "INSERT INTO sales_stock (sku, quantity, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + excluded.quantity, \
                 updated_at = excluded.updated_at RETURNING sku, quantity, updated_at",
                q,
            ),
        };
        let row = sqlx::query(sql)
            .bind(sku)
            .bind(q.thousandths())
            .bind(micros(now))
            .fetch_one(&self.db.write)
            .await
            .map_err(db_error)?;
        stock_of(&row)
    }
}

#[async_trait]
impl SalesDays for SqliteStore {
    async fn put(&self, days: &[DayTotals]) -> Result<(), SalesRepoError> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        for d in days {
            if d.lines == 0 {
                sqlx::query("DELETE FROM sales_daily WHERE store_id = ? AND sale_date = ?")
                    .bind(&d.store_id)
                    .bind(date_text(d.date))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            } else {
                sqlx::query(
                    "INSERT INTO sales_daily (store_id, sale_date, lines, quantity, revenue) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT (store_id, sale_date) DO UPDATE SET \
                     lines = excluded.lines, quantity = excluded.quantity, revenue = excluded.revenue",
                )
                .bind(&d.store_id)
                .bind(date_text(d.date))
                .bind(i64::try_from(d.lines).unwrap_or(i64::MAX))
                .bind(d.quantity.thousandths())
                .bind(d.revenue_cents)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
        }
        tx.commit().await.map_err(db_error)
    }

    async fn range(
        &self,
        store: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayTotals>, SalesRepoError> {
        let rows = sqlx::query(
            "SELECT sale_date, lines, quantity, revenue FROM sales_daily \
             WHERE store_id = ? AND sale_date >= ? AND sale_date <= ? ORDER BY sale_date",
        )
        .bind(store)
        .bind(date_text(from))
        .bind(date_text(to))
        .fetch_all(&self.db.read)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(DayTotals {
                    store_id: store.to_owned(),
                    date: date(&r.try_get::<String, _>("sale_date").map_err(db_error)?)?,
                    lines: unsigned(r.try_get::<i64, _>("lines").map_err(db_error)?)?,
                    quantity: Quantity::from_thousandths(r.try_get("quantity").map_err(db_error)?),
                    revenue_cents: r.try_get("revenue").map_err(db_error)?,
                })
            })
            .collect()
    }
}
