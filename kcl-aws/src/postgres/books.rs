//! [`BookRepo`] on PostgreSQL.

use async_trait::async_trait;
use kcl_core::adapter_support::book_write_refusal;
use kcl_core::domain::{
    AuditEvent, Book, BookCover, BookFilter, BookId, BookQuery, CursorValue, Isbn, KeysetStart,
    Money, SortKey, SortOrder,
};
use kcl_core::ports::{check_insert_batch, BookRepo, BookRepoError, CoverSwap};
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::codec::{micros, storable, time, unsigned};
use super::fault::{corrupt, db_error, TxError, TX};
use super::{listers, search, PgStore};

type Attempt<T> = Result<T, TxError<BookRepoError>>;

/// The columns a [`Book`] is read from (by [`book_from_row`]), as a literal for `concat!`.
macro_rules! book_columns {
    () => {
        "id, isbn, title, author, category, year, price_cents, copies, rented, summary, \
         version, created_at, updated_at, cover_key, thumb_key, times_rented"
    };
}

const BOOK_COLUMNS: &str = book_columns!();

/// `$1` id, `$2`..`$14` the editable and derived fields ([`bind_fields`]),
/// `$15` created_at, `$16` version. A conflict on the id or the ISBN inserts
/// nothing (and keeps the transaction usable, to tell which).
const INSERT: &str = "INSERT INTO books (id, isbn, title, author, category, year, price_cents, \
     copies, summary, updated_at, title_key, author_key, category_key, search, created_at, \
     version, rented) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     array_to_tsvector($14::text[]), $15, $16, 0) \
     ON CONFLICT DO NOTHING";

/// [`INSERT`] for a batch: one row per element of the arrays `$1`..`$16` (the
/// fields of [`bind_fields`], the search words joined by spaces, created_at,
/// version), in order; rows whose id or ISBN is taken (by a stored book or an
/// earlier row) are skipped. Returns the ids stored.
const INSERT_BATCH: &str = "INSERT INTO books (id, isbn, title, author, category, year, \
     price_cents, copies, summary, updated_at, title_key, author_key, category_key, search, \
     created_at, version, rented) \
     SELECT id, isbn, title, author, category, year, price_cents, copies, summary, updated_at, \
     title_key, author_key, category_key, array_to_tsvector(string_to_array(words, ' ')), \
     created_at, version, 0 \
     FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], \
     $7::int8[], $8::int8[], $9::text[], $10::int8[], $11::text[], $12::text[], $13::text[], \
     $14::text[], $15::int8[], $16::int8[]) WITH ORDINALITY \
     AS b(id, isbn, title, author, category, year, price_cents, copies, summary, updated_at, \
     title_key, author_key, category_key, words, created_at, version, ord) \
     ORDER BY ord \
     ON CONFLICT DO NOTHING RETURNING id";

/// The columns of [`INSERT_BATCH`], one array each.
#[derive(Default)]
struct BatchColumns {
    id: Vec<Uuid>,
    isbn: Vec<String>,
    title: Vec<String>,
    author: Vec<String>,
    category: Vec<String>,
    year: Vec<i32>,
    price_cents: Vec<i64>,
    copies: Vec<i64>,
    summary: Vec<String>,
    updated_at: Vec<i64>,
    title_key: Vec<String>,
    author_key: Vec<String>,
    category_key: Vec<String>,
    /// The search words, `[a-z0-9]` each, joined by spaces.
    words: Vec<String>,
    created_at: Vec<i64>,
    version: Vec<i64>,
}

impl BatchColumns {
    fn push(&mut self, book: &Book) -> Result<(), BookRepoError> {
        self.version.push(version_param(book.version)?);
        self.id.push(book.id.0);
        self.isbn.push(book.isbn.as_str().to_owned());
        self.title.push(book.title.clone());
        self.author.push(book.author.clone());
        self.category.push(book.category.clone());
        self.year.push(book.year);
        self.price_cents.push(book.price.cents());
        self.copies.push(i64::from(book.copies));
        self.summary.push(book.summary.clone());
        self.updated_at.push(micros(book.updated_at));
        self.title_key.push(book.title_key());
        self.author_key.push(book.author_key());
        self.category_key.push(book.category_key());
        self.words.push(search::lexemes(book).join(" "));
        self.created_at.push(micros(book.created_at));
        Ok(())
    }
}

/// `$1` id, `$2`..`$14` as in [`INSERT`], `$15` the expected version. Applies only
/// at that version and when the new copies (`$8`) cover the copies rented.
const UPDATE: &str = concat!(
    "UPDATE books SET isbn = $2, title = $3, author = $4, category = $5, year = $6, \
     price_cents = $7, copies = $8, summary = $9, updated_at = $10, title_key = $11, \
     author_key = $12, category_key = $13, search = array_to_tsvector($14::text[]), \
     version = version + 1 \
     WHERE id = $1 AND version = $15 AND rented <= $8 \
     RETURNING ",
    book_columns!()
);

/// `$1` id, `$2` the expected version or NULL.
const DELETE: &str = concat!(
    "DELETE FROM books WHERE id = $1 AND ($2::bigint IS NULL OR version = $2) AND rented = 0 \
     RETURNING ",
    book_columns!()
);

type BookQueryArgs<'q> = Query<'q, Postgres, PgArguments>;

/// Binds `$1` (id) to `$14`: the fields both `INSERT` and `UPDATE` write.
fn bind_fields<'q>(q: BookQueryArgs<'q>, book: &Book) -> BookQueryArgs<'q> {
    q.bind(book.id.0)
        .bind(book.isbn.as_str().to_owned())
        .bind(book.title.clone())
        .bind(book.author.clone())
        .bind(book.category.clone())
        .bind(book.year)
        .bind(book.price.cents())
        .bind(i64::from(book.copies))
        .bind(book.summary.clone())
        .bind(micros(book.updated_at))
        .bind(book.title_key())
        .bind(book.author_key())
        .bind(book.category_key())
        .bind(search::lexemes(book))
}

fn version_param(v: u64) -> Result<i64, BookRepoError> {
    i64::try_from(v).map_err(|_| BookRepoError::InvalidInput(format!("version {v} is too large")))
}

/// Refuses texts PostgreSQL cannot store (U+0000).
fn check_storable(book: &Book) -> Result<(), BookRepoError> {
    let texts = [
        book.isbn.as_str(),
        &book.title,
        &book.author,
        &book.category,
        &book.summary,
    ];
    if texts.iter().all(|t| storable(t)) {
        Ok(())
    } else {
        Err(BookRepoError::InvalidInput(
            "book text holds U+0000, which PostgreSQL cannot store".into(),
        ))
    }
}

/// Reads a book from a row whose first columns are [`BOOK_COLUMNS`], in that order
/// (every statement here selects or returns them first): read by position, which
/// spares a lookup by name for each of a page's 16 × 21 values.
fn book_from_row(row: &PgRow) -> Result<Book, BookRepoError> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let int = |i: usize| row.try_get::<i64, _>(i).map_err(db_error);
    let opt = |i: usize| row.try_get::<Option<String>, _>(i).map_err(db_error);
    let price = int(6)?;
    let original = opt(13)?;
    let thumbnail = opt(14)?;
    Ok(Book {
        id: BookId(row.try_get::<Uuid, _>(0).map_err(db_error)?),
        isbn: Isbn::from_canonical(text(1)?)
            .map_err(|_| corrupt("an isbn that is not a canonical ISBN-13"))?,
        title: text(2)?,
        author: text(3)?,
        category: text(4)?,
        year: row.try_get::<i32, _>(5).map_err(db_error)?,
        price: Money::from_cents(price).map_err(|_| corrupt(format!("price {price}")))?,
        copies: unsigned(int(7)?)?,
        rented: unsigned(int(8)?)?,
        summary: text(9)?,
        version: unsigned(int(10)?)?,
        created_at: time(int(11)?)?,
        updated_at: time(int(12)?)?,
        cover: original.map(|original| BookCover {
            original,
            thumbnail,
        }),
        times_rented: unsigned(int(15)?)?,
    })
}

/// The stored `(version, rented)` of a book, to explain why a conditional write
/// matched no row.
async fn version_and_rented(conn: &mut PgConnection, id: BookId) -> Attempt<Option<(u64, u32)>> {
    let row = sqlx::query("SELECT version, rented FROM books WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let version = unsigned(row.try_get::<i64, _>(0)?).map_err(TxError::Port)?;
    let rented = unsigned(row.try_get::<i64, _>(1)?).map_err(TxError::Port)?;
    Ok(Some((version, rented)))
}

/// Why a write conditioned on the version (when given) and on at most `max_rented`
/// copies out matched no row (see [`book_write_refusal`]). When the row changed
/// in between so that nothing explains it, the attempt is
/// [raced](kcl_core::adapter_support::TxError::Raced) and runs again.
async fn refusal(
    conn: &mut PgConnection,
    id: BookId,
    expected: Option<u64>,
    max_rented: u32,
) -> TxError<BookRepoError> {
    match version_and_rented(conn, id).await {
        Ok(found) => book_write_refusal(id, found, expected, max_rented)
            .map_or(TxError::Raced, TxError::Port),
        Err(e) => e,
    }
}

impl PgStore {
    async fn try_insert(&self, book: &Book, event: &AuditEvent) -> Attempt<()> {
        let version = version_param(book.version).map_err(TxError::Port)?;
        let mut tx = self.pool.begin().await?;
        let inserted = bind_fields(sqlx::query(INSERT), book)
            .bind(micros(book.created_at))
            .bind(version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            // The id or the ISBN is taken; the id is checked first, like the reference.
            let refused = match version_and_rented(&mut tx, book.id).await? {
                Some(_) => BookRepoError::DuplicateId(book.id),
                None => BookRepoError::DuplicateIsbn(book.isbn.clone()),
            };
            return Err(TxError::Port(refused));
        }
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_insert_batch(&self, books: &[(Book, AuditEvent)]) -> Attempt<Vec<usize>> {
        if books.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = BatchColumns::default();
        for (book, _) in books {
            c.push(book).map_err(TxError::Port)?;
        }
        let mut tx = self.pool.begin().await?;
        let inserted: Vec<(Uuid,)> = sqlx::query_as(INSERT_BATCH)
            .bind(c.id)
            .bind(c.isbn)
            .bind(c.title)
            .bind(c.author)
            .bind(c.category)
            .bind(c.year)
            .bind(c.price_cents)
            .bind(c.copies)
            .bind(c.summary)
            .bind(c.updated_at)
            .bind(c.title_key)
            .bind(c.author_key)
            .bind(c.category_key)
            .bind(c.words)
            .bind(c.created_at)
            .bind(c.version)
            .fetch_all(&mut *tx)
            .await?;
        let mut inserted: std::collections::HashSet<Uuid> =
            inserted.into_iter().map(|(id,)| id).collect();
        let mut skipped = Vec::new();
        let mut events = Vec::with_capacity(inserted.len());
        for (i, (book, event)) in books.iter().enumerate() {
            // The first of the batch with an id is the one stored.
            if inserted.remove(&book.id.0) {
                events.push(event);
            } else {
                skipped.push(i);
            }
        }
        self.write_events(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(skipped)
    }

    async fn try_update(&self, book: &Book, expected: u64, event: &AuditEvent) -> Attempt<Book> {
        let expected_param = version_param(expected).map_err(TxError::Port)?;
        let mut tx = self.pool.begin().await?;
        let updated = bind_fields(sqlx::query(UPDATE), book)
            .bind(expected_param)
            .fetch_optional(&mut *tx)
            .await;
        let row = match updated {
            Ok(Some(row)) => row,
            Ok(None) => return Err(refusal(&mut tx, book.id, Some(expected), book.copies).await),
            Err(e) if super::fault::unique_violation(&e).is_some() => {
                return Err(TxError::Port(BookRepoError::DuplicateIsbn(
                    book.isbn.clone(),
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let stored = book_from_row(&row).map_err(TxError::Port)?;
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn try_delete(
        &self,
        id: BookId,
        expected: Option<u64>,
        event: &AuditEvent,
    ) -> Attempt<Book> {
        let expected_param = expected
            .map(version_param)
            .transpose()
            .map_err(TxError::Port)?;
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(DELETE)
            .bind(id.0)
            .bind(expected_param)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = deleted else {
            return Err(refusal(&mut tx, id, expected, 0).await);
        };
        let book = book_from_row(&row).map_err(TxError::Port)?;
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(book)
    }
}

/// The cover columns of a row (`cover_key`, `thumb_key`).
fn cover_from_row(row: &PgRow) -> Result<Option<BookCover>, BookRepoError> {
    let original: Option<String> = row.try_get("cover_key").map_err(db_error)?;
    let thumbnail: Option<String> = row.try_get("thumb_key").map_err(db_error)?;
    Ok(original.map(|original| BookCover {
        original,
        thumbnail,
    }))
}

impl PgStore {
    async fn try_set_cover(
        &self,
        id: BookId,
        cover: Option<&BookCover>,
        if_original: Option<&str>,
        event: Option<&AuditEvent>,
    ) -> Attempt<CoverSwap> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT cover_key, thumb_key FROM books WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(TxError::Port(BookRepoError::NotFound(id)));
        };
        let previous = cover_from_row(&row).map_err(TxError::Port)?;
        if let Some(expected) = if_original {
            if previous.as_ref().map(|c| c.original.as_str()) != Some(expected) {
                return Ok(CoverSwap::Superseded);
            }
        }
        // The same cover again (a task run twice): nothing changes, no event.
        if previous.as_ref() == cover {
            return Ok(CoverSwap::Done { previous });
        }
        sqlx::query("UPDATE books SET cover_key = $2, thumb_key = $3 WHERE id = $1")
            .bind(id.0)
            .bind(cover.map(|c| c.original.clone()))
            .bind(cover.and_then(|c| c.thumbnail.clone()))
            .execute(&mut *tx)
            .await?;
        if let Some(event) = event {
            self.write_event(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(CoverSwap::Done { previous })
    }
}

#[async_trait]
impl BookRepo for PgStore {
    async fn insert(&self, book: &Book, event: &AuditEvent) -> Result<(), BookRepoError> {
        check_storable(book)?;
        TX.retry(|| self.try_insert(book, event)).await
    }

    async fn insert_batch(
        &self,
        books: &[(Book, AuditEvent)],
    ) -> Result<Vec<usize>, BookRepoError> {
        check_insert_batch(books)?;
        for (book, _) in books {
            check_storable(book)?;
        }
        TX.retry(|| self.try_insert_batch(books)).await
    }

    async fn get(&self, id: BookId) -> Result<Book, BookRepoError> {
        let sql = format!("SELECT {BOOK_COLUMNS} FROM books WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map_or(Err(BookRepoError::NotFound(id)), |r| book_from_row(&r))
    }

    async fn update(
        &self,
        book: &Book,
        expected_version: u64,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError> {
        check_storable(book)?;
        TX.retry(|| self.try_update(book, expected_version, event))
            .await
    }

    async fn delete(
        &self,
        id: BookId,
        expected_version: Option<u64>,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError> {
        TX.retry(|| self.try_delete(id, expected_version, event))
            .await
    }

    async fn set_cover<'e>(
        &self,
        id: BookId,
        cover: Option<BookCover>,
        if_original: Option<String>,
        event: Option<&'e AuditEvent>,
    ) -> Result<CoverSwap, BookRepoError> {
        if let Some(c) = &cover {
            c.check().map_err(BookRepoError::InvalidInput)?;
        }
        TX.retry(|| self.try_set_cover(id, cover.as_ref(), if_original.as_deref(), event))
            .await
    }

    async fn list(&self, query: &BookQuery) -> Result<Vec<Book>, BookRepoError> {
        let f = &query.filter;
        // No stored text holds U+0000: such a filter matches nothing.
        let unmatchable = [&f.category, &f.author]
            .into_iter()
            .flatten()
            .any(|t| !storable(t));
        if query.limit == 0 || unmatchable {
            return Ok(Vec::new());
        }
        // A read replica that has caught up, when the service allows one.
        let pool = self.reader().await;
        let plan = if dense_walk_applies(f) {
            // Tried before any estimate or count (counting a dense prefix's matches
            // builds a bitmap of every one of them): a full page within the first
            // DENSE_WALK rows of the sort index is the page. Short of one, fewer than
            // about 1 % of the books match: collecting the matches (through the search
            // index) and sorting them costs less than the planner's walk of the sort
            // index, which its guess at a prefix's matches would choose for a rare
            // term and read the whole table with.
            let walk = list_query(query, ListPlan::DenseWalk);
            let page = self.fetch_listing(pool, walk, Planning::PerValues).await?;
            if page.len() >= query.limit as usize {
                return Ok(page);
            }
            ListPlan::FromFilters
        } else {
            self.list_plan(pool, f).await?
        };
        self.fetch_listing(pool, list_query(query, plan), Planning::of(f))
            .await
    }

    async fn count(&self, f: &BookFilter, cap: u32) -> Result<u64, BookRepoError> {
        let unmatchable = [&f.category, &f.author]
            .into_iter()
            .flatten()
            .any(|t| !storable(t));
        if cap == 0 || unmatchable {
            return Ok(0);
        }
        let pool = self.reader().await;
        let (n,): (i64,) = count_query(f, cap)
            .build_query_as()
            .persistent(false)
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl PgStore {
    /// The books `sql` lists on `pool`; none when there is no query (the page is
    /// known to be empty). On the primary, the query runs on a connection kept for
    /// listings (the `listers` module), which skips the pool's ping of each
    /// returned connection.
    async fn fetch_listing(
        &self,
        pool: &PgPool,
        sql: Option<QueryBuilder<Postgres>>,
        planning: Planning,
    ) -> Result<Vec<Book>, BookRepoError> {
        let Some(mut sql) = sql else {
            return Ok(Vec::new());
        };
        let query = sql.build().persistent(planning == Planning::Prepared);
        let rows = if std::ptr::eq(pool, &self.pool) {
            let mut conn = listers::lister(&self.listers, pool)
                .await
                .map_err(db_error)?;
            let rows = query.fetch_all(&mut **conn).await.map_err(db_error)?;
            conn.done();
            rows
        } else {
            query.fetch_all(pool).await.map_err(db_error)?
        };
        rows.iter().map(book_from_row).collect()
    }
}

/// Whether a listing's statement is kept prepared on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planning {
    /// An unnamed statement, parsed and planned for its values on every run: a
    /// search or a filter by column values, where a generic plan (which PostgreSQL
    /// caches after five runs of a prepared statement when it looks no dearer) could
    /// suit one value and read the whole table for another (see `list_plan`).
    PerValues,
    /// Prepared once per connection (sqlx's statement cache) and then bound and run
    /// in one round trip: a listing by sort order alone, with or without a cursor
    /// and availability, whose plan is the sort index's whatever the values (the
    /// page size is written into the SQL, not bound, for the same reason).
    Prepared,
}

impl Planning {
    /// How a listing filtered by `f` is run.
    fn of(f: &BookFilter) -> Self {
        let by_values = f.search.is_some()
            || f.category.is_some()
            || f.author.is_some()
            || f.year_from.is_some()
            || f.year_to.is_some();
        if by_values {
            Self::PerValues
        } else {
            Self::Prepared
        }
    }
}

/// How a filtered listing is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListPlan {
    /// Few rows pass a filter: collect the rows that pass (a `MATERIALIZED` CTE,
    /// which the planner reads through the filters' indexes) and sort them.
    FromFilters,
    /// One statement, planned by PostgreSQL: no search, or many rows pass every
    /// filter (walking the sort index meets a passing row every few rows).
    Planner,
    /// Tried first for a search alone: walk at most [`DENSE_WALK`] rows of the sort
    /// index and test each row's words (a top-k that stops at the page).
    /// PostgreSQL itself collects and sorts every match of a dense search (it
    /// cannot know the matches are spread evenly).
    DenseWalk,
}

/// The most rows of the sort index a [`ListPlan::DenseWalk`] tests: a page of 20
/// within them needs about 1 % of the books to match.
const DENSE_WALK: i64 = 2000;

/// Whether a listing may try [`ListPlan::DenseWalk`]: a search and no filter that
/// narrows by an index of its own (availability is tested on each row anyway).
fn dense_walk_applies(f: &BookFilter) -> bool {
    f.search.is_some()
        && f.category.is_none()
        && f.author.is_none()
        && f.year_from.is_none()
        && f.year_to.is_none()
}

/// A search whose filters the planner expects to pass this many times the
/// sort-index threshold is left to the planner without counting.
const TRUST_ESTIMATE_FACTOR: i64 = 4;

impl PgStore {
    /// How many rows the planner expects to pass the filters (`EXPLAIN`, no
    /// execution); 0 when the plan cannot be read.
    async fn estimated_rows(pool: &PgPool, f: &BookFilter) -> Result<i64, BookRepoError> {
        let mut sql = QueryBuilder::<Postgres>::new("EXPLAIN SELECT 1 FROM books WHERE TRUE");
        push_filter(&mut sql, f);
        let plan: Option<(String,)> = sql
            .build_query_as()
            .persistent(false)
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
        // The top node reads `... (cost=0.00..4687.00 rows=15950 width=4)`.
        let rows = plan.and_then(|(line,)| {
            let tail = &line[line.find(" rows=")? + " rows=".len()..];
            let digits = tail.split(|c: char| !c.is_ascii_digit()).next()?;
            digits.parse::<i64>().ok()
        });
        Ok(rows.unwrap_or(0))
    }

    /// Picks a plan for a search: the rows passing every filter are counted, up to
    /// the sort-index threshold (with no ORDER BY to mislead it, the planner reads
    /// them through the most selective index, the full-text one for a rare term).
    /// PostgreSQL has statistics on columns, but none on a full-text prefix outside
    /// its most common words: it guesses a few hundred matches and walks the sort
    /// index, which reads the whole table (150 ms on 100k books) for a prefix that
    /// matches a few books. Listings without a search are left to the planner.
    async fn list_plan(&self, pool: &PgPool, f: &BookFilter) -> Result<ListPlan, BookRepoError> {
        let many_rows = self.sort_index_threshold();
        if f.search.is_none() {
            // Column filters have statistics: PostgreSQL plans them well.
            return Ok(ListPlan::Planner);
        }
        // When the planner expects many rows to pass, it has statistics on the
        // search's words (its most common ones), and walking the sort index is right;
        // counting would cost more than the listing (16 ms for 2,000 matches).
        if Self::estimated_rows(pool, f).await? >= many_rows.saturating_mul(TRUST_ESTIMATE_FACTOR) {
            return Ok(ListPlan::Planner);
        }
        let mut sql =
            QueryBuilder::<Postgres>::new("SELECT count(*) FROM (SELECT 1 FROM books WHERE TRUE");
        push_filter(&mut sql, f);
        sql.push(" LIMIT ").push_bind(many_rows).push(") AS c");
        let (rows,): (i64,) = sql
            .build_query_as()
            // An unnamed statement is planned for its values: a cached generic plan,
            // chosen after a few dense searches, would scan the whole table for a rare
            // term (the same holds for the listing itself).
            .persistent(false)
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
        Ok(if rows < many_rows {
            ListPlan::FromFilters
        } else {
            ListPlan::Planner
        })
    }
}

/// The column a sort key orders by (a fixed name: no user text reaches the SQL).
fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Title => "title_key",
        SortKey::Author => "author_key",
        SortKey::Year => "year",
        SortKey::Price => "price_cents",
        SortKey::CreatedAt => "created_at",
        SortKey::Rentals => "times_rented",
    }
}

/// Appends the filters.
fn push_filter(sql: &mut QueryBuilder<Postgres>, f: &BookFilter) {
    if let Some(category) = &f.category {
        sql.push(" AND category_key = ").push_bind(category.clone());
    }
    if let Some(author) = &f.author {
        sql.push(" AND author_key = ").push_bind(author.clone());
    }
    if let Some(from) = f.year_from {
        sql.push(" AND year >= ").push_bind(from);
    }
    if let Some(to) = f.year_to {
        sql.push(" AND year <= ").push_bind(to);
    }
    if f.available_only {
        sql.push(" AND rented < copies");
    }
    if let Some(terms) = &f.search {
        sql.push(" AND search @@ ")
            .push_bind(search::tsquery(terms))
            .push("::tsquery");
    }
}

/// `SELECT count(*)` of the books passing `f`, counting no further than `cap`.
fn count_query(f: &BookFilter, cap: u32) -> QueryBuilder<Postgres> {
    let mut sql = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM books WHERE TRUE");
    push_filter(&mut sql, f);
    sql.push(" LIMIT ")
        .push_bind(i64::from(cap))
        .push(") AS passing");
    sql
}

/// The listing's SQL, or `None` when the page is known to be empty.
fn list_query(query: &BookQuery, plan: ListPlan) -> Option<QueryBuilder<Postgres>> {
    if query.limit == 0 {
        return None;
    }
    let f = &query.filter;
    let column = sort_column(query.sort.key);
    let (cmp, dir) = match query.sort.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    let mut sql = QueryBuilder::new(match plan {
        ListPlan::Planner => format!("SELECT {BOOK_COLUMNS} FROM books WHERE TRUE"),
        // The CTE is planned on its own, without the ORDER BY ... LIMIT that would
        // draw the planner to the sort index.
        ListPlan::FromFilters => format!(
            "WITH passing AS MATERIALIZED \
             (SELECT {BOOK_COLUMNS}, title_key, author_key FROM books WHERE TRUE"
        ),
        // The first DENSE_WALK rows in order that pass the other filters, then the
        // search tested on each (below).
        ListPlan::DenseWalk => format!(
            "SELECT {BOOK_COLUMNS} FROM (SELECT {BOOK_COLUMNS}, title_key, author_key, search \
             FROM books WHERE TRUE"
        ),
    });
    if plan == ListPlan::DenseWalk {
        let others = BookFilter {
            search: None,
            ..f.clone()
        };
        push_filter(&mut sql, &others);
    } else {
        push_filter(&mut sql, f);
    }
    match query.keyset_start() {
        KeysetStart::First => {}
        KeysetStart::End => return None,
        KeysetStart::After(CursorValue::Text(v), _) if !storable(v) => {
            // No stored key holds U+0000, so none equals the cursor, and a key is
            // after `p\0...` exactly when it is after `p` (ascending) or at most `p`
            // (descending), `p` being the cursor up to its first U+0000.
            let p = v.split('\0').next().unwrap_or_default().to_owned();
            let op = if cmp == ">" { ">" } else { "<=" };
            sql.push(format!(" AND {column} {op} ")).push_bind(p);
        }
        KeysetStart::After(value, id) => {
            sql.push(format!(" AND ({column}, id) {cmp} ("));
            match value {
                CursorValue::Int(v) => sql.push_bind(*v),
                CursorValue::Text(v) => sql.push_bind(v.clone()),
            };
            sql.push(", ").push_bind(id.0).push(")");
        }
    }
    if plan == ListPlan::FromFilters {
        sql.push(format!(") SELECT {BOOK_COLUMNS} FROM passing"));
    }
    if let (ListPlan::DenseWalk, Some(terms)) = (plan, &f.search) {
        sql.push(format!(
            " ORDER BY {column} {dir}, id {dir} LIMIT {DENSE_WALK}) AS walked WHERE search @@ "
        ))
        .push_bind(search::tsquery(terms))
        .push("::tsquery");
    }
    // Written, not bound: a prepared listing's cached plan then knows its size.
    sql.push(format!(
        " ORDER BY {column} {dir}, id {dir} LIMIT {}",
        query.limit
    ));
    Some(sql)
}
