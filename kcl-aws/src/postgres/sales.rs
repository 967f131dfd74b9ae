//! [`SalesRepo`] and [`SalesDays`] on PostgreSQL: a file's rows are streamed from
//! the spool with `COPY ... FROM STDIN (FORMAT csv)` inside one transaction with
//! the file record and the stock changes. Loads take a transaction-scoped advisory
//! lock, so they run one at a time and a name never gets two current versions.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeSet;

use kcl_core::domain::{
    AuditEvent, DayTotals, GroupBy, LoadOutcome, Quantity, ReportLine, RowSpool, SalesFile,
    SalesRow, SpooledRow, StockChange, StockLevel, StoreDay, SummaryQuery, SummaryRow,
};
use kcl_core::ports::{LiveRows, LiveVerdict, SalesDays, SalesRepo, SalesRepoError, SPOOL_COLUMNS};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::codec::{micros, time, unsigned};
use super::fault::db_error;
use super::sales_copy::{CopyEncoder, DaySum, Line, Sums};
use super::PgStore;

/// The advisory lock key of sales loads (`kcls`).
const LOAD_LOCK: i64 = 0x6b63_6c73;
/// Bytes per COPY message.
const CHUNK: usize = 256 * 1024;
/// Rows per batch read back from a finished spool.
const BATCH: usize = 1024;

fn file_of(row: &PgRow) -> Result<SalesFile, SalesRepoError> {
    Ok(SalesFile {
        id: row.try_get("id").map_err(db_error)?,
        name: row.try_get("name").map_err(db_error)?,
        sha256: row.try_get("sha256").map_err(db_error)?,
        rows: unsigned(row.try_get::<i64, _>("rows").map_err(db_error)?)?,
        loaded_at: time(row.try_get("loaded_at").map_err(db_error)?)?,
    })
}

fn stock_of(row: &PgRow) -> Result<StockLevel, SalesRepoError> {
    Ok(StockLevel {
        sku: row.try_get("sku").map_err(db_error)?,
        quantity: Quantity::from_thousandths(row.try_get("quantity").map_err(db_error)?),
        updated_at: time(row.try_get("updated_at").map_err(db_error)?)?,
    })
}

/// Applies a file's lines to stock and to the day sums, computed from the loaded
/// lines in one pass (grouping sets): `sign` -1 for a file being added (sales take
/// from stock, add to the days), 1 for a file being removed. Collects the file's
/// stores and days.
async fn apply_lines(
    tx: &mut PgConnection,
    file: uuid::Uuid,
    sign: i64,
    now: i64,
    days: &mut BTreeSet<StoreDay>,
) -> Result<(), SalesRepoError> {
    let rows = sqlx::query(
        "WITH g AS (SELECT sku, store_id, sale_date, SUM(quantity) AS q, COUNT(*) AS n, \
         SUM(revenue) AS r, SUM(tax) AS t FROM sales_lines \
         WHERE file_id = $1 GROUP BY GROUPING SETS ((sku), (store_id, sale_date))), \
         stock AS (INSERT INTO sales_stock (sku, quantity, updated_at) \
         SELECT sku, $2 * q, $3 FROM g WHERE sku IS NOT NULL ORDER BY sku \
         ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + EXCLUDED.quantity, \
         updated_at = EXCLUDED.updated_at), \
         sums AS (INSERT INTO sales_day_sums (store_id, sale_date, lines, quantity, revenue, tax) \
         SELECT store_id, sale_date, -$2 * n, -$2 * q, -$2 * r, -$2 * t FROM g WHERE store_id IS NOT NULL \
         ORDER BY store_id, sale_date \
         ON CONFLICT (store_id, sale_date) DO UPDATE SET lines = sales_day_sums.lines + EXCLUDED.lines, \
         quantity = sales_day_sums.quantity + EXCLUDED.quantity, \
         revenue = sales_day_sums.revenue + EXCLUDED.revenue, \
         tax = sales_day_sums.tax + EXCLUDED.tax) \
         SELECT store_id, sale_date FROM g WHERE store_id IS NOT NULL",
    )
    .bind(file)
    .bind(sign)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    for r in rows {
        days.insert(StoreDay {
            store_id: r.try_get("store_id").map_err(db_error)?,
            date: r.try_get("sale_date").map_err(db_error)?,
        });
    }
    Ok(())
}

/// Applies a new file's sums, summed as its rows were copied, to stock and to the
/// day sums (two statements, whatever the file's size). Collects its days.
async fn apply_sums(
    tx: &mut PgConnection,
    sums: Sums,
    now: i64,
    days: &mut BTreeSet<StoreDay>,
) -> Result<(), SalesRepoError> {
    let mut stock: Vec<(String, i64)> = sums.stock.into_iter().collect();
    // Sorted, as `change_stock` locks one row: no deadlock between them.
    stock.sort_unstable();
    let (skus, qty): (Vec<String>, Vec<i64>) = stock.into_iter().map(|(s, q)| (s, -q)).unzip();
    sqlx::query(
        "INSERT INTO sales_stock (sku, quantity, updated_at) \
         SELECT sku, q, $3 FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS k (sku, q) ORDER BY sku \
         ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + EXCLUDED.quantity, \
         updated_at = EXCLUDED.updated_at",
    )
    .bind(&skus)
    .bind(&qty)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let mut sums: Vec<((String, NaiveDate), DaySum)> = sums.days.into_iter().collect();
    sums.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut stores = Vec::with_capacity(sums.len());
    let mut dates = Vec::with_capacity(sums.len());
    let (mut lines, mut quantity, mut revenue, mut tax) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((store, date), s) in sums {
        days.insert(StoreDay {
            store_id: store.clone(),
            date,
        });
        stores.push(store);
        dates.push(date);
        lines.push(s.lines);
        quantity.push(s.quantity);
        revenue.push(s.revenue);
        tax.push(s.tax);
    }
    sqlx::query(
        "INSERT INTO sales_day_sums (store_id, sale_date, lines, quantity, revenue, tax) \
         SELECT * FROM UNNEST($1::TEXT[], $2::DATE[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], \
         $6::BIGINT[]) \
         ON CONFLICT (store_id, sale_date) DO UPDATE SET lines = sales_day_sums.lines + EXCLUDED.lines, \
         quantity = sales_day_sums.quantity + EXCLUDED.quantity, \
         revenue = sales_day_sums.revenue + EXCLUDED.revenue, tax = sales_day_sums.tax + EXCLUDED.tax",
    )
    .bind(&stores)
    .bind(&dates)
    .bind(&lines)
    .bind(&quantity)
    .bind(&revenue)
    .bind(&tax)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Drops the day sums of these days that no line is left in (a replaced version's).
async fn drop_empty_days(
    tx: &mut PgConnection,
    days: &BTreeSet<StoreDay>,
) -> Result<(), SalesRepoError> {
    let stores: Vec<&str> = days.iter().map(|d| d.store_id.as_str()).collect();
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
    sqlx::query(
        "DELETE FROM sales_day_sums s USING UNNEST($1::TEXT[], $2::DATE[]) AS k (store_id, sale_date) \
         WHERE s.store_id = k.store_id AND s.sale_date = k.sale_date AND s.lines = 0",
    )
    .bind(&stores)
    .bind(&dates)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

const FILE_COLUMNS: &str = "id, name, sha256, rows, loaded_at";

/// Where a load's rows come from: a finished spool, or batches sent while the file
/// is read.
enum Source<'a> {
    Spool(tokio::sync::mpsc::Receiver<std::io::Result<Vec<SpooledRow>>>),
    Live(&'a mut tokio::sync::mpsc::Receiver<Vec<SalesRow>>),
}

fn spool_line(r: &SpooledRow) -> Line<'_> {
    Line {
        line: r.line,
        store_id: &r.store_id,
        sale_date: r.sale_date,
        receipt_id: r.receipt_id.as_deref(),
        sku: &r.sku,
        product_name: r.product_name.as_deref(),
        quantity: r.quantity,
        unit_price: r.unit_price_cents,
        revenue: r.revenue_cents,
        tax: r.tax_cents,
    }
}

fn sales_line(r: &SalesRow) -> Line<'_> {
    Line {
        line: r.line,
        store_id: &r.store_id,
        sale_date: r.sale_date,
        receipt_id: r.receipt_id.as_deref(),
        sku: &r.sku,
        product_name: r.product_name.as_deref(),
        quantity: r.quantity.thousandths(),
        unit_price: r.unit_price.cents(),
        revenue: r.revenue_cents(),
        tax: r.tax_cents,
    }
}

/// The new lines' place in the transaction: what the load found before copying.
struct Begun {
    tx: sqlx::Transaction<'static, Postgres>,
    old: Option<SalesFile>,
    days: BTreeSet<StoreDay>,
    now: i64,
}

impl PgStore {
    /// Begins a load's transaction: timeouts, the load lock, the duplicate check
    /// (`Err(file)`: a current file has this content), and the removal of the
    /// current version of the name, if any.
    async fn begin_load(
        &self,
        file: &SalesFile,
    ) -> Result<Result<Begun, SalesFile>, SalesRepoError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // A file of millions of rows takes longer than the pool's statement timeout
        // (15 s, for requests), and a load may wait for another one's lock: this
        // transaction alone gets an hour and ten minutes.
        sqlx::query("SET LOCAL statement_timeout = '1h'")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("SET LOCAL lock_timeout = '10min'")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOAD_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let dup = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM sales_files WHERE sha256 = $1 AND replaced_at IS NULL LIMIT 1"
        )))
        .bind(&file.sha256)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let Some(row) = dup {
            return Ok(Err(file_of(&row)?));
        }
        let now = micros(file.loaded_at);
        let mut days = BTreeSet::new();
        let old = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM sales_files WHERE name = $1 AND replaced_at IS NULL"
        )))
        .bind(&file.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .map(|r| file_of(&r))
        .transpose()?;
        if let Some(old) = &old {
            apply_lines(&mut tx, old.id, 1, now, &mut days).await?;
            drop_empty_days(&mut tx, &days).await?;
            sqlx::query("DELETE FROM sales_lines WHERE file_id = $1")
                .bind(old.id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            sqlx::query("UPDATE sales_files SET replaced_at = $1 WHERE id = $2")
                .bind(now)
                .bind(old.id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        Ok(Ok(Begun { tx, old, days, now }))
    }

    /// Copies the rows into `sales_lines` (binary COPY, in [`CHUNK`] messages);
    /// returns how many, and their sums when within bounds.
    async fn copy_rows(
        tx: &mut PgConnection,
        file_id: uuid::Uuid,
        mut source: Source<'_>,
    ) -> Result<(u64, Option<Sums>), SalesRepoError> {
        let sql = format!(
            "COPY sales_lines ({}) FROM STDIN WITH (FORMAT binary)",
            SPOOL_COLUMNS.join(", ")
        );
        let mut copy = tx.copy_in_raw(&sql).await.map_err(db_error)?;
        let mut enc = CopyEncoder::new(file_id, CHUNK);
        let failed = loop {
            let pushed = match &mut source {
                Source::Spool(rx) => match rx.recv().await {
                    None => break None,
                    Some(Err(e)) => {
                        break Some(SalesRepoError::Internal(
                            format!("reading the row spool: {e}").into(),
                        ))
                    }
                    Some(Ok(batch)) => {
                        if batch.iter().any(|r| r.file_id != file_id) {
                            break Some(SalesRepoError::InvalidInput(
                                "the spool holds rows of another load".into(),
                            ));
                        }
                        batch.iter().try_for_each(|r| enc.push(&spool_line(r)))
                    }
                },
                Source::Live(rx) => match rx.recv().await {
                    None => break None,
                    Some(batch) => batch.iter().try_for_each(|r| enc.push(&sales_line(r))),
                },
            };
            if pushed.is_err() {
                break Some(SalesRepoError::InvalidInput(
                    "a line number is out of range".into(),
                ));
            }
            if enc.pending() >= CHUNK {
                if let Err(e) = copy.send(enc.take()).await {
                    break Some(db_error(e));
                }
            }
        };
        if let Some(e) = failed {
            let _ = copy.abort("the load failed").await;
            return Err(e);
        }
        let rows = enc.rows();
        let (last, sums) = enc.finish();
        if let Err(e) = copy.send(last).await {
            let _ = copy.abort("send failed").await;
            return Err(db_error(e));
        }
        let n = copy.finish().await.map_err(db_error)?;
        if n != rows {
            return Err(SalesRepoError::Internal(
                format!("COPY stored {n} of {rows} rows").into(),
            ));
        }
        Ok((n, sums))
    }

    /// Ends a load whose rows are copied: the file record, stock and day sums, the
    /// event, the commit.
    async fn publish(
        &self,
        begun: Begun,
        file: &SalesFile,
        copied: (u64, Option<Sums>),
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError> {
        let Begun {
            mut tx,
            old,
            mut days,
            now,
        } = begun;
        let (n, sums) = copied;
        sqlx::query(
            "INSERT INTO sales_files (id, name, sha256, rows, loaded_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(file.id)
        .bind(&file.name)
        .bind(&file.sha256)
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        match sums {
            Some(sums) => apply_sums(&mut tx, sums, now, &mut days).await?,
            None => apply_lines(&mut tx, file.id, -1, now, &mut days).await?,
        }
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
}

#[async_trait]
impl SalesRepo for PgStore {
    async fn load(
        &self,
        file: &SalesFile,
        rows: &dyn RowSpool,
        event: &AuditEvent,
    ) -> Result<LoadOutcome, SalesRepoError> {
        if rows.file_id() != file.id {
            return Err(SalesRepoError::InvalidInput(
                "the spool holds rows of another load".into(),
            ));
        }
        let mut begun = match self.begin_load(file).await? {
            Ok(b) => b,
            Err(dup) => return Ok(LoadOutcome::Duplicate(dup)),
        };
        let source = Source::Spool(rows.read_batches(BATCH));
        let copied = Self::copy_rows(&mut begun.tx, file.id, source).await?;
        self.publish(begun, file, copied, event).await
    }

    fn loads_live(&self) -> bool {
        true
    }

    async fn load_live(
        &self,
        file: &SalesFile,
        live: LiveRows,
    ) -> Result<Option<LoadOutcome>, SalesRepoError> {
        let LiveRows { mut rows, verdict } = live;
        let mut begun = match self.begin_load(file).await? {
            Ok(b) => b,
            Err(dup) => return Ok(Some(LoadOutcome::Duplicate(dup))),
        };
        let copied = Self::copy_rows(&mut begun.tx, file.id, Source::Live(&mut rows)).await?;
        let (done, event) = match verdict.await {
            Ok(LiveVerdict::Commit { file: done, event }) => (done, event),
            // Refused, or the reader went away: the transaction rolls back.
            Ok(LiveVerdict::Abandon) | Err(_) => return Ok(None),
        };
        if done.id != file.id || done.sha256 != file.sha256 || done.rows != copied.0 {
            return Err(SalesRepoError::Internal(
                format!(
                    "the live load of {} copied {} rows; the file has {}",
                    file.name, copied.0, done.rows
                )
                .into(),
            ));
        }
        self.publish(begun, &done, copied, &event).await.map(Some)
    }

    async fn current_file(&self, name: &str) -> Result<Option<SalesFile>, SalesRepoError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM sales_files WHERE name = $1 AND replaced_at IS NULL"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|r| file_of(&r))
        .transpose()
    }

    async fn day_totals(&self, days: &[StoreDay]) -> Result<Vec<DayTotals>, SalesRepoError> {
        let stores: Vec<&str> = days.iter().map(|d| d.store_id.as_str()).collect();
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
        let rows = sqlx::query(
            "SELECT k.ord, COALESCE(s.lines, 0) AS n, COALESCE(s.quantity, 0) AS q, \
             COALESCE(s.revenue, 0) AS r, COALESCE(s.tax, 0) AS t \
             FROM UNNEST($1::TEXT[], $2::DATE[]) WITH ORDINALITY AS k (store_id, sale_date, ord) \
             LEFT JOIN sales_day_sums s ON s.store_id = k.store_id AND s.sale_date = k.sale_date \
             ORDER BY k.ord",
        )
        .bind(&stores)
        .bind(&dates)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        days.iter()
            .zip(rows.iter())
            .map(|(d, r)| {
                Ok(DayTotals {
                    store_id: d.store_id.clone(),
                    date: d.date,
                    lines: unsigned(r.try_get::<i64, _>("n").map_err(db_error)?)?,
                    quantity: Quantity::from_thousandths(r.try_get("q").map_err(db_error)?),
                    revenue_cents: r.try_get("r").map_err(db_error)?,
                    tax_cents: r.try_get("t").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn summary(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, SalesRepoError> {
        let key = match q.group_by {
            GroupBy::Day => "to_char(sale_date, 'YYYY-MM-DD')",
            GroupBy::Store => "store_id",
            GroupBy::Sku => "sku",
        };
        let mut b: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {key} AS k, COUNT(*) AS n, SUM(quantity)::BIGINT AS q, SUM(revenue)::BIGINT AS r, \
             SUM(tax)::BIGINT AS t \
             FROM sales_lines WHERE TRUE"
        ));
        if let Some(f) = q.from {
            b.push(" AND sale_date >= ").push_bind(f);
        }
        if let Some(t) = q.to {
            b.push(" AND sale_date <= ").push_bind(t);
        }
        if let Some(s) = &q.store {
            b.push(" AND store_id = ").push_bind(s.clone());
        }
        if let Some(s) = &q.sku {
            b.push(" AND sku = ").push_bind(s.clone());
        }
        b.push(format!(" GROUP BY 1 ORDER BY {key} COLLATE \"C\""));
        let rows = b
            .build()
            .fetch_all(self.reader().await)
            .await
            .map_err(db_error)?;
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
        let rows = sqlx::query(
            "SELECT sale_date, store_id, sku, MAX(product_name COLLATE \"C\") AS name, COUNT(*) AS n, \
             SUM(quantity)::BIGINT AS q, SUM(revenue)::BIGINT AS r, SUM(tax)::BIGINT AS t \
             FROM sales_lines \
             WHERE sale_date >= $1 AND sale_date <= $2 AND ($3::TEXT IS NULL OR store_id = $3) \
             GROUP BY sale_date, store_id, sku \
             ORDER BY sale_date, store_id COLLATE \"C\", sku COLLATE \"C\" LIMIT $4",
        )
        .bind(from)
        .bind(to)
        .bind(store)
        .bind(i64::from(limit))
        .fetch_all(self.reader().await)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(ReportLine {
                    date: r.try_get("sale_date").map_err(db_error)?,
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
        sqlx::query("SELECT sku, quantity, updated_at FROM sales_stock WHERE sku = $1")
            .bind(sku)
            .fetch_optional(&self.pool)
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
                "INSERT INTO sales_stock (sku, quantity, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (sku) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = EXCLUDED.updated_at \
                 RETURNING sku, quantity, updated_at",
                q,
            ),
            StockChange::Receive(q) => (
                "INSERT INTO sales_stock (sku, quantity, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (sku) DO UPDATE SET quantity = sales_stock.quantity + EXCLUDED.quantity, \
                 updated_at = EXCLUDED.updated_at RETURNING sku, quantity, updated_at",
                q,
            ),
        };
        let mut tx = self.pool.begin().await.map_err(db_error)?;
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

#[async_trait]
impl SalesDays for PgStore {
    async fn put(&self, days: &[DayTotals]) -> Result<(), SalesRepoError> {
        // Two statements whatever the number of days: deletions, then an upsert of
        // the rest from arrays.
        // The last total of a store and day wins (one upsert cannot touch a row twice).
        let last: std::collections::BTreeMap<(&str, NaiveDate), &DayTotals> = days
            .iter()
            .map(|d| ((d.store_id.as_str(), d.date), d))
            .collect();
        let (gone, kept): (Vec<&DayTotals>, Vec<&DayTotals>) =
            last.into_values().partition(|d| d.lines == 0);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !gone.is_empty() {
            let stores: Vec<&str> = gone.iter().map(|d| d.store_id.as_str()).collect();
            let dates: Vec<NaiveDate> = gone.iter().map(|d| d.date).collect();
            sqlx::query(
                "DELETE FROM sales_daily d USING UNNEST($1::TEXT[], $2::DATE[]) AS k (store_id, sale_date) \
                 WHERE d.store_id = k.store_id AND d.sale_date = k.sale_date",
            )
            .bind(&stores)
            .bind(&dates)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        if !kept.is_empty() {
            let stores: Vec<&str> = kept.iter().map(|d| d.store_id.as_str()).collect();
            let dates: Vec<NaiveDate> = kept.iter().map(|d| d.date).collect();
            let lines: Vec<i64> = kept
                .iter()
                .map(|d| i64::try_from(d.lines).unwrap_or(i64::MAX))
                .collect();
            let qty: Vec<i64> = kept.iter().map(|d| d.quantity.thousandths()).collect();
            let revenue: Vec<i64> = kept.iter().map(|d| d.revenue_cents).collect();
            let tax: Vec<i64> = kept.iter().map(|d| d.tax_cents).collect();
            sqlx::query(
                "INSERT INTO sales_daily (store_id, sale_date, lines, quantity, revenue, tax) \
                 SELECT * FROM UNNEST($1::TEXT[], $2::DATE[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], \
                 $6::BIGINT[]) ON CONFLICT (store_id, sale_date) DO UPDATE SET \
                 lines = EXCLUDED.lines, quantity = EXCLUDED.quantity, revenue = EXCLUDED.revenue, \
                 tax = EXCLUDED.tax",
            )
            .bind(&stores)
            .bind(&dates)
            .bind(&lines)
            .bind(&qty)
            .bind(&revenue)
            .bind(&tax)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
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
             WHERE store_id = $1 AND sale_date >= $2 AND sale_date <= $3 ORDER BY sale_date",
        )
        .bind(store)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(DayTotals {
                    store_id: store.to_owned(),
                    date: r.try_get("sale_date").map_err(db_error)?,
                    lines: unsigned(r.try_get::<i64, _>("lines").map_err(db_error)?)?,
                    quantity: Quantity::from_thousandths(r.try_get("quantity").map_err(db_error)?),
                    revenue_cents: r.try_get("revenue").map_err(db_error)?,
                    tax_cents: r.try_get("tax").map_err(db_error)?,
                })
            })
            .collect()
    }
}
