//! [`RentalRepo`] on SQLite: renting and returning are one transaction each with
//! the book's `rented` count.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kcl_core::domain::{
    AuditEvent, BookId, Rental, RentalId, RentalQuery, RentalStatusFilter, Renter,
};
use kcl_core::ports::{RentalRepo, RentalRepoError, ReturnOutcome};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::codec::{date, date_text, micros, time, uuid};
use super::fault::{corrupt, db_error, refuse_duplicate, TxError, TX};
use super::SqliteStore;

type Attempt<T> = Result<T, TxError<RentalRepoError>>;

/// The columns a [`Rental`] is read from.
const RENTAL_COLUMNS: &str = "id, book_id, renter, rented_at, due_date, returned_at";

fn rental_from_row(row: &SqliteRow) -> Result<Rental, RentalRepoError> {
    let renter: String = row.try_get("renter").map_err(db_error)?;
    let returned_at: Option<i64> = row.try_get("returned_at").map_err(db_error)?;
    Ok(Rental {
        id: RentalId(uuid(&row.try_get::<String, _>("id").map_err(db_error)?)?),
        book_id: BookId(uuid(
            &row.try_get::<String, _>("book_id").map_err(db_error)?,
        )?),
        renter: Renter::parse(&renter).map_err(|_| corrupt(format!("renter {renter:?}")))?,
        rented_at: time(row.try_get("rented_at").map_err(db_error)?)?,
        due_date: date(&row.try_get::<String, _>("due_date").map_err(db_error)?)?,
        returned_at: returned_at.map(time).transpose()?,
    })
}

async fn exists(conn: &mut SqliteConnection, sql: &'static str, id: String) -> Attempt<bool> {
    Ok(sqlx::query(sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

async fn find_rental(conn: &mut SqliteConnection, id: RentalId) -> Attempt<Option<Rental>> {
    let sql = format!("SELECT {RENTAL_COLUMNS} FROM rentals WHERE id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| rental_from_row(&r))
        .transpose()
        .map_err(TxError::Port)
}

/// Why taking a copy of the book failed, in the reference order: a rental with this
/// id already exists, the book does not, or no copy is free.
async fn rent_refusal(conn: &mut SqliteConnection, rental: &Rental) -> TxError<RentalRepoError> {
    let checks = async {
        if exists(
            conn,
            "SELECT 1 FROM rentals WHERE id = ?",
            rental.id.to_string(),
        )
        .await?
        {
            return Ok(RentalRepoError::DuplicateId(rental.id));
        }
        if exists(
            conn,
            "SELECT 1 FROM books WHERE id = ?",
            rental.book_id.to_string(),
        )
        .await?
        {
            return Ok(RentalRepoError::NoCopyAvailable(rental.book_id));
        }
        Ok(RentalRepoError::BookNotFound(rental.book_id))
    };
    match checks.await {
        Ok(refused) => TxError::Port(refused),
        Err(e) => e,
    }
}

impl SqliteStore {
    async fn try_rent(&self, rental: &Rental, event: &AuditEvent) -> Attempt<()> {
        let mut tx = self.db.begin().await?;
        // The conditional increment is the check: no copy free, no row changed.
        let took =
            sqlx::query("UPDATE books SET rented = rented + 1, times_rented = times_rented + 1 WHERE id = ? AND rented < copies")
                .bind(rental.book_id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if took == 0 {
            return Err(rent_refusal(&mut tx, rental).await);
        }
        let inserted = sqlx::query(
            "INSERT INTO rentals (id, book_id, renter, rented_at, due_date, returned_at) \
             VALUES (?, ?, ?, ?, ?, NULL)",
        )
        .bind(rental.id.to_string())
        .bind(rental.book_id.to_string())
        .bind(rental.renter.as_str().to_owned())
        .bind(micros(rental.rented_at))
        .bind(date_text(rental.due_date))
        .execute(&mut *tx)
        .await;
        // Dropping the transaction on a refusal rolls the increment back.
        refuse_duplicate(inserted, || RentalRepoError::DuplicateId(rental.id))?;
        self.write_event(&mut tx, event).await?;
        Ok(tx.commit().await?)
    }

    async fn try_return(
        &self,
        id: RentalId,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Attempt<ReturnOutcome> {
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "UPDATE rentals SET returned_at = ? WHERE id = ? AND returned_at IS NULL \
             RETURNING {RENTAL_COLUMNS}"
        );
        let returned = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(at))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = returned else {
            // Already returned (nothing to change) or unknown.
            let rental = find_rental(&mut tx, id).await?;
            tx.commit().await?;
            let rental = rental.ok_or(TxError::Port(RentalRepoError::NotFound(id)))?;
            return Ok(ReturnOutcome {
                rental,
                changed: false,
            });
        };
        let rental = rental_from_row(&row).map_err(TxError::Port)?;
        // The book may have been deleted since (it cannot while rented, but a
        // restored backup could disagree): then there is nothing to free.
        sqlx::query("UPDATE books SET rented = rented - 1 WHERE id = ? AND rented > 0")
            .bind(rental.book_id.to_string())
            .execute(&mut *tx)
            .await?;
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(ReturnOutcome {
            rental,
            changed: true,
        })
    }
}

#[async_trait]
impl RentalRepo for SqliteStore {
    async fn rent(&self, rental: &Rental, event: &AuditEvent) -> Result<(), RentalRepoError> {
        TX.retry(|| self.try_rent(rental, event)).await
    }

    async fn return_rental(
        &self,
        id: RentalId,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ReturnOutcome, RentalRepoError> {
        TX.retry(|| self.try_return(id, at, event)).await
    }

    async fn get(&self, id: RentalId) -> Result<Rental, RentalRepoError> {
        let sql = format!("SELECT {RENTAL_COLUMNS} FROM rentals WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.db.read)
            .await
            .map_err(db_error)?;
        row.map_or(Err(RentalRepoError::NotFound(id)), |r| rental_from_row(&r))
    }

    async fn list(&self, query: &RentalQuery) -> Result<Vec<Rental>, RentalRepoError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let rows = list_query(query)
            .build()
            .fetch_all(&self.db.read)
            .await
            .map_err(db_error)?;
        rows.iter().map(rental_from_row).collect()
    }
}

/// Newest first, filtered as [`RentalQuery::matches`], strictly after the cursor.
fn list_query(q: &RentalQuery) -> QueryBuilder<Sqlite> {
    let mut sql = QueryBuilder::new(format!("SELECT {RENTAL_COLUMNS} FROM rentals WHERE 1 = 1"));
    if let Some(book) = q.book_id {
        sql.push(" AND book_id = ").push_bind(book.to_string());
    }
    if let Some(renter) = &q.renter {
        sql.push(" AND renter = ")
            .push_bind(renter.as_str().to_owned());
    }
    match q.status {
        None => {}
        Some(RentalStatusFilter::Active) => {
            sql.push(" AND returned_at IS NULL");
        }
        Some(RentalStatusFilter::Returned) => {
            sql.push(" AND returned_at IS NOT NULL");
        }
        Some(RentalStatusFilter::Overdue) => {
            sql.push(" AND returned_at IS NULL AND due_date < ")
                .push_bind(date_text(q.today));
        }
    }
    if let Some((at, id)) = q.after {
        sql.push(" AND (rented_at, id) < (")
            .push_bind(micros(at))
            .push(", ")
            .push_bind(id.to_string())
            .push(")");
    }
    sql.push(" ORDER BY rented_at DESC, id DESC LIMIT ")
        .push_bind(i64::from(q.limit));
    sql
}
