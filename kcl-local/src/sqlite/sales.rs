//! [`SalesRepo`] and [`SalesDays`] on SQLite.
//!
//! A load is all or nothing without holding SQLite's one write lock for its whole
//! length (a million rows take seconds, and rentals would wait): the file is first
//! listed in `sales_unpublished` as loading, its rows are inserted in transactions of
//! [`ROWS_PER_COMMIT`] rows, then one short transaction publishes it (the file record,
//! the previous version of the name marked replaced, stock moved) and drops it from
//! the list. Readers skip lines of listed files, so nobody sees half a file. A
//! replaced version's lines are listed as `replaced` and deleted in batches after the
//! publication; a failed load's lines right away; what a crash leaves behind (a
//! `loading` entry whose load has not committed for [`STALE_LOAD`], or any `replaced`
//! one) is deleted by the next load or the next opening of the store.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::domain::{
    AuditEvent, DayTotals, GroupBy, LoadOutcome, Quantity, ReportLine, RowSpool, SalesFile,
    SpooledRow, StockChange, StockLevel, StoreDay, SummaryQuery, SummaryRow,
};
use kcl_core::ports::{SalesDays, SalesRepo, SalesRepoError};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::codec::{date, date_text, micros, time, unsigned, uuid};
use super::fault::db_error;
use super::SqliteStore;

/// Rows per INSERT statement (10 parameters each, under SQLite's 32766).
const BATCH: usize = 500;
/// Rows inserted per write transaction during a load (other writers get the lock in
/// between: about a quarter of a second here).
const ROWS_PER_COMMIT: usize = 20_000;
/// Rows deleted per write transaction when clearing unpublished lines.
const DELETE_BATCH: i64 = 20_000;
/// A `loading` entry not renewed for this long is a load that died (a crash): its
/// lines go. A live load renews it with each of its commits (every
/// [`ROWS_PER_COMMIT`] rows, a fraction of a second apart).
const STALE_LOAD: std::time::Duration = std::time::Duration::from_secs(60);
/// Lines of current files only (`sales_lines` may hold unpublished ones).
const CURRENT: &str = "file_id NOT IN (SELECT file_id FROM sales_unpublished)";

fn file_of(row: &SqliteRow) -> Result<SalesFile, SalesRepoError> {
    Ok(SalesFile {
        id: uuid(&row.try_get::<String, _>("id").map_err(db_error)?)?,
        name: row.try_get("name").map_err(db_error)?,
        sha256: row.try_get("sha256").map_err(db_error)?,
        rows: unsigned(row.try_get::<i64, _>("rows").map_err(db_error)?)?,
        loaded_at: time(row.try_get("loaded_at").map_err(db_error)?)?,
    })
}

/// The current version of a name, or the current file with a content hash
/// (`column` is `name` or `sha256`), read through `e` (a pool or a transaction).
async fn current_by<'e>(
    e: impl sqlx::SqliteExecutor<'e>,
    column: &'static str,
    value: &str,
) -> Result<Option<SalesFile>, SalesRepoError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, sha256, rows, loaded_at FROM sales_files \
         WHERE {column} = ? AND replaced_at IS NULL LIMIT 1"
    )))
    .bind(value)
    .fetch_optional(e)
    .await
    .map_err(db_error)?
    .map(|r| file_of(&r))
    .transpose()
}

fn stock_of(row: &SqliteRow) -> Result<StockLevel, SalesRepoError> {
    Ok(StockLevel {
        sku: row.try_get("sku").map_err(db_error)?,
        quantity: Quantity::from_thousandths(row.try_get("quantity").map_err(db_error)?),
        updated_at: time(row.try_get("updated_at").map_err(db_error)?)?,
    })
}

fn push_rows(rows: &[SpooledRow]) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::new(
        "INSERT INTO sales_lines (file_id, line, store_id, sale_date, receipt_id, sku, \
         product_name, quantity, unit_price, revenue, tax) ",
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
            .push_bind(r.revenue_cents)
            .push_bind(r.tax_cents);
    });
    q
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

/// Each SKU's quantity in the file's lines.
async fn stock_sums(
    conn: &mut sqlx::SqliteConnection,
    file: &str,
) -> Result<Vec<(String, i64)>, SalesRepoError> {
    sqlx::query_as("SELECT sku, SUM(quantity) FROM sales_lines WHERE file_id = ? GROUP BY sku")
        .bind(file)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)
}

/// Adds `sign` x `sums` to stock.
async fn apply_stock(
    tx: &mut sqlx::SqliteConnection,
    sums: &[(String, i64)],
    sign: i64,
    now: i64,
) -> Result<(), SalesRepoError> {
    for (sku, q) in sums {
        sqlx::query(
            "INSERT INTO sales_stock (sku, quantity, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + excluded.quantity, \
             updated_at = excluded.updated_at",
        )
        .bind(sku)
        .bind(sign * q)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// What a file's publication changes: its store-days and each SKU's quantity.
struct Effect {
    file: String,
    days: std::collections::BTreeSet<StoreDay>,
    sums: Vec<(String, i64)>,
}

impl Effect {
    async fn of(conn: &mut sqlx::SqliteConnection, file: String) -> Result<Self, SalesRepoError> {
        let mut days = std::collections::BTreeSet::new();
        days_of(conn, &file, &mut days).await?;
        let sums = stock_sums(conn, &file).await?;
        Ok(Self { file, days, sums })
    }
}

/// Shows that the load of `file` is alive (see [`STALE_LOAD`]).
async fn renew_loading(
    tx: &mut sqlx::Transaction<'static, Sqlite>,
    file: &SalesFile,
) -> Result<(), SalesRepoError> {
    sqlx::query("UPDATE sales_unpublished SET since = ? WHERE file_id = ? AND kind = 'loading'")
        .bind(micros(Utc::now()))
        .bind(file.id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn spool_error(e: std::io::Error) -> SalesRepoError {
    SalesRepoError::Internal(format!("reading the row spool: {e}").into())
}

#[async_trait]
impl SalesRepo for SqliteStore {
    async fn load(
        &self,
        file: &SalesFile,
        rows: &dyn RowSpool,
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError> {
        self.clear_unpublished(false).await?;
        if let Some(dup) = current_by(&self.db.read, "sha256", &file.sha256).await? {
            return Ok(LoadOutcome::Duplicate(dup));
        }
        let id = file.id.to_string();
        sqlx::query(
            "INSERT INTO sales_unpublished (file_id, kind, since) VALUES (?, 'loading', ?)",
        )
        .bind(&id)
        .bind(micros(Utc::now()))
        .execute(&self.db.write)
        .await
        .map_err(db_error)?;
        let outcome = match self.insert_rows(file, rows).await {
            Ok(n) => self.publish(file, n, event).await,
            Err(e) => Err(e),
        };
        match &outcome {
            Ok(LoadOutcome::Loaded { .. }) => {}
            // Refused or failed: this load's lines go now.
            _ => {
                if let Err(e) = self.delete_lines(&id).await {
                    tracing::warn!(file = %id, error = %e, "sales lines of a failed load left for the next load to delete");
                }
            }
        }
        // The replaced version's lines (and any left by an earlier load).
        if let Err(e) = self.clear_unpublished(false).await {
            tracing::warn!(error = %e, "replaced sales lines left for the next load to delete");
        }
        outcome
    }

    async fn current_file(&self, name: &str) -> Result<Option<SalesFile>, SalesRepoError> {
        current_by(&self.db.read, "name", name).await
    }

    async fn day_totals(&self, days: &[StoreDay]) -> Result<Vec<DayTotals>, SalesRepoError> {
        let mut out = Vec::with_capacity(days.len());
        for d in days {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n, COALESCE(SUM(quantity), 0) AS q, \
                     COALESCE(SUM(revenue), 0) AS r, COALESCE(SUM(tax), 0) AS t \
                     FROM sales_lines WHERE sale_date = ? AND store_id = ? AND {CURRENT}"
            )))
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
                tax_cents: row.try_get("t").map_err(db_error)?,
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
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {key} AS k, COUNT(*) AS n, SUM(quantity) AS q, SUM(revenue) AS r, \
             SUM(tax) AS t FROM sales_lines WHERE {CURRENT}"
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
                    tax_cents: r.try_get("t").map_err(db_error)?,
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
        let sql = format!(
            "SELECT sale_date, store_id, sku, MAX(product_name) AS name, COUNT(*) AS n, \
             SUM(quantity) AS q, SUM(revenue) AS r, SUM(tax) AS t FROM sales_lines \
             WHERE sale_date >= ?1 AND sale_date <= ?2 AND (?3 IS NULL OR store_id = ?3) \
             AND {CURRENT} \
             GROUP BY sale_date, store_id, sku ORDER BY sale_date, store_id, sku LIMIT ?4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
                    tax_cents: r.try_get("t").map_err(db_error)?,
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
        event: &AuditEvent,
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
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let row = sqlx::query(sql)
            .bind(sku)
            .bind(q.thousandths())
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let level = stock_of(&row)?;
        let event = event.noting("on_hand", level.quantity.to_string());
        self.write_event(&mut tx, &event).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(level)
    }
}

impl SqliteStore {
    /// Inserts the spooled rows, [`ROWS_PER_COMMIT`] per transaction.
    async fn insert_rows(
        &self,
        file: &SalesFile,
        rows: &dyn RowSpool,
    ) -> Result<u64, SalesRepoError> {
        let mut batches = rows.read_batches(BATCH);
        let mut n = 0u64;
        let mut tx = None;
        let mut in_tx = 0usize;
        while let Some(batch) = batches.recv().await {
            let batch = batch.map_err(spool_error)?;
            if batch.iter().any(|r| r.file_id != file.id) {
                return Err(SalesRepoError::InvalidInput(
                    "the spool holds rows of another load".into(),
                ));
            }
            if tx.is_none() {
                tx = Some(self.db.begin().await.map_err(db_error)?);
            }
            let t = tx.as_mut().expect("a transaction was just begun");
            push_rows(&batch)
                .build()
                .execute(&mut **t)
                .await
                .map_err(db_error)?;
            n += batch.len() as u64;
            in_tx += batch.len();
            if in_tx >= ROWS_PER_COMMIT {
                let mut t = tx.take().expect("in a transaction");
                renew_loading(&mut t, file).await?;
                t.commit().await.map_err(db_error)?;
                in_tx = 0;
            }
        }
        if let Some(t) = tx {
            t.commit().await.map_err(db_error)?;
        }
        kcl_core::crash_point!("sales.lines.inserted");
        Ok(n)
    }

    /// Makes the loaded file current in one short transaction: what it changes (and
    /// what the version it replaces changed) is read before, outside the write lock.
    async fn publish(
        &self,
        file: &SalesFile,
        n: u64,
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError> {
        let id = file.id.to_string();
        let now = micros(file.loaded_at);
        let (new, old_seen) = {
            let mut conn = self.db.read.acquire().await.map_err(db_error)?;
            let new = Effect::of(&mut conn, id.clone()).await?;
            let old = match self.current_file(&file.name).await? {
                Some(old) => Some(Effect::of(&mut conn, old.id.to_string()).await?),
                None => None,
            };
            (new, old)
        };
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // Another load of the same content may have finished meanwhile.
        if let Some(dup) = current_by(&mut *tx, "sha256", &file.sha256).await? {
            return Ok(LoadOutcome::Duplicate(dup));
        }
        let mut days = new.days;
        let old = current_by(&mut *tx, "name", &file.name).await?;
        if let Some(old) = &old {
            let old_id = old.id.to_string();
            // Another load may have replaced the version seen above: read it again.
            let effect = match old_seen {
                Some(e) if e.file == old_id => e,
                _ => Effect::of(&mut tx, old_id.clone()).await?,
            };
            days.extend(effect.days);
            apply_stock(&mut tx, &effect.sums, 1, now).await?;
            sqlx::query("UPDATE sales_files SET replaced_at = ? WHERE id = ?")
                .bind(now)
                .bind(&old_id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            sqlx::query(
                "INSERT INTO sales_unpublished (file_id, kind, since) VALUES (?, 'replaced', ?)",
            )
            .bind(&old_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
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
        apply_stock(&mut tx, &new.sums, -1, now).await?;
        sqlx::query("DELETE FROM sales_unpublished WHERE file_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let event = event.noting("replaced", old.as_ref().map(|o| o.id));
        self.write_event(&mut tx, &event).await.map_err(db_error)?;
        kcl_core::crash_point!("sales.publish.before_commit");
        tx.commit().await.map_err(db_error)?;
        Ok(LoadOutcome::Loaded {
            rows: n,
            replaced: old,
            days: days.into_iter().collect(),
        })
    }

    /// Deletes a file's lines, [`DELETE_BATCH`] per transaction, then its entry in
    /// `sales_unpublished`.
    async fn delete_lines(&self, file_id: &str) -> Result<(), SalesRepoError> {
        loop {
            let done = sqlx::query(
                "DELETE FROM sales_lines WHERE file_id = ?1 AND line IN \
                 (SELECT line FROM sales_lines WHERE file_id = ?1 LIMIT ?2)",
            )
            .bind(file_id)
            .bind(DELETE_BATCH)
            .execute(&self.db.write)
            .await
            .map_err(db_error)?
            .rows_affected();
            if done == 0 {
                break;
            }
        }
        sqlx::query("DELETE FROM sales_unpublished WHERE file_id = ?")
            .bind(file_id)
            .execute(&self.db.write)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Deletes the lines of replaced files, and of loads that died (`loading` for
    /// longer than [`STALE_LOAD`], or any when `all_loading`).
    pub(crate) async fn clear_unpublished(&self, all_loading: bool) -> Result<(), SalesRepoError> {
        let stale = micros(Utc::now()) - STALE_LOAD.as_micros() as i64;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT file_id FROM sales_unpublished \
             WHERE kind = 'replaced' OR ?1 OR since < ?2",
        )
        .bind(all_loading)
        .bind(stale)
        .fetch_all(&self.db.read)
        .await
        .map_err(db_error)?;
        for id in ids {
            self.delete_lines(&id).await?;
        }
        Ok(())
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
                    "INSERT INTO sales_daily (store_id, sale_date, lines, quantity, revenue, tax) \
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, sale_date) DO UPDATE SET \
                     lines = excluded.lines, quantity = excluded.quantity, revenue = excluded.revenue, \
                     tax = excluded.tax",
                )
                .bind(&d.store_id)
                .bind(date_text(d.date))
                .bind(i64::try_from(d.lines).unwrap_or(i64::MAX))
                .bind(d.quantity.thousandths())
                .bind(d.revenue_cents)
                .bind(d.tax_cents)
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
            "SELECT sale_date, lines, quantity, revenue, tax FROM sales_daily \
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
                    tax_cents: r.try_get("tax").map_err(db_error)?,
                })
            })
            .collect()
    }
}
