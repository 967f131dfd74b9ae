//! [`BookRepo`] on SQLite.

use async_trait::async_trait;
use kcl_core::adapter_support::book_write_refusal;
use kcl_core::domain::{
    AuditEvent, Book, BookCover, BookFilter, BookId, BookQuery, CursorValue, Isbn, KeysetStart,
    Money, SortKey, SortOrder,
};
use kcl_core::ports::{check_insert_batch, BookRepo, BookRepoError, CoverSwap};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::codec::{micros, time, unsigned, uuid};
use super::fault::{corrupt, db_error, is_unique_violation, refuse_duplicate, TxError, TX};
use super::{listers, search, SqliteStore};

type Attempt<T> = Result<T, TxError<BookRepoError>>;

/// The columns a [`Book`] is read from (by [`book_from_row`]), as a literal for `concat!`.
macro_rules! book_columns {
    () => {
        "id, isbn, title, author, category, year, price_cents, copies, rented, summary, \
         version, created_at, updated_at, cover_key, thumb_key, times_rented"
    };
}

const BOOK_COLUMNS: &str = book_columns!();

/// `?1` id, `?2`..`?13` the editable and derived fields ([`bind_fields`]),
/// `?14` created_at, `?15` version.
const INSERT: &str = "INSERT INTO books (id, isbn, title, author, category, year, price_cents, \
     copies, summary, updated_at, title_key, author_key, category_key, created_at, version, rented) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0) \
     RETURNING row_id";

/// Rows per multi-row statement of a batch insert (16 parameters a book: well
/// under SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 500;

/// `?1` id, `?2`..`?13` as in [`INSERT`], `?14` the expected version. Applies only
/// at that version and when the new copies (`?8`) cover the copies rented.
const UPDATE: &str = concat!(
    "UPDATE books SET isbn = ?2, title = ?3, author = ?4, category = ?5, year = ?6, \
     price_cents = ?7, copies = ?8, summary = ?9, updated_at = ?10, title_key = ?11, \
     author_key = ?12, category_key = ?13, version = version + 1 \
     WHERE id = ?1 AND version = ?14 AND rented <= ?8 \
     RETURNING row_id, ",
    book_columns!()
);

/// `?1` id, `?2` the expected version or NULL.
const DELETE: &str = concat!(
    "DELETE FROM books WHERE id = ?1 AND (?2 IS NULL OR version = ?2) AND rented = 0 \
     RETURNING row_id, ",
    book_columns!()
);

type BookQueryArgs<'q> = Query<'q, Sqlite, SqliteArguments>;

/// Binds `?1` (id) to `?13`: the fields both `INSERT` and `UPDATE` write.
fn bind_fields<'q>(q: BookQueryArgs<'q>, book: &Book) -> BookQueryArgs<'q> {
    q.bind(book.id.to_string())
        .bind(book.isbn.as_str().to_owned())
        .bind(book.title.clone())
        .bind(book.author.clone())
        .bind(book.category.clone())
        .bind(book.year)
        .bind(book.price.cents())
        .bind(book.copies)
        .bind(book.summary.clone())
        .bind(micros(book.updated_at))
        .bind(book.title_key())
        .bind(book.author_key())
        .bind(book.category_key())
}

fn version_param(v: u64) -> Result<i64, BookRepoError> {
    i64::try_from(v).map_err(|_| BookRepoError::InvalidInput(format!("version {v} is too large")))
}

/// A book's columns as stored, in [`BOOK_COLUMNS`] order: what a row holds and what
/// one element of a listing's JSON page holds (see [`list_query`]).
#[derive(serde::Deserialize)]
struct StoredBook(
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    i64,
);

impl StoredBook {
    fn from_row(row: &SqliteRow) -> Result<Self, BookRepoError> {
        let text = |name: &str| row.try_get::<String, _>(name).map_err(db_error);
        let int = |name: &str| row.try_get::<i64, _>(name).map_err(db_error);
        let opt = |name: &str| row.try_get::<Option<String>, _>(name).map_err(db_error);
        Ok(Self(
            text("id")?,
            text("isbn")?,
            text("title")?,
            text("author")?,
            text("category")?,
            int("year")?,
            int("price_cents")?,
            int("copies")?,
            int("rented")?,
            text("summary")?,
            int("version")?,
            int("created_at")?,
            int("updated_at")?,
            opt("cover_key")?,
            opt("thumb_key")?,
            int("times_rented")?,
        ))
    }

    fn into_book(self) -> Result<Book, BookRepoError> {
        let Self(
            id,
            isbn,
            title,
            author,
            category,
            year,
            price,
            copies,
            rented,
            summary,
            version,
            created_at,
            updated_at,
            cover_key,
            thumb_key,
            times_rented,
        ) = self;
        Ok(Book {
            id: BookId(uuid(&id)?),
            isbn: Isbn::from_canonical(isbn)
                .map_err(|_| corrupt("an isbn that is not a canonical ISBN-13"))?,
            title,
            author,
            category,
            year: i32::try_from(year).map_err(|_| corrupt(format!("year {year}")))?,
            price: Money::from_cents(price).map_err(|_| corrupt(format!("price {price}")))?,
            copies: unsigned(copies)?,
            rented: unsigned(rented)?,
            times_rented: unsigned(times_rented)?,
            summary,
            version: unsigned(version)?,
            created_at: time(created_at)?,
            updated_at: time(updated_at)?,
            cover: cover_key.map(|original| BookCover {
                original,
                thumbnail: thumb_key,
            }),
        })
    }
}

/// Reads a book from a row holding [`BOOK_COLUMNS`] (and maybe others).
fn book_from_row(row: &SqliteRow) -> Result<Book, BookRepoError> {
    StoredBook::from_row(row)?.into_book()
}

/// One listed book as a JSON array of [`BOOK_COLUMNS`], for [`list_query`].
const BOOK_JSON: &str = concat!("json_array(", book_columns!(), ")");

/// The stored `(version, rented)` of a book, to explain why a conditional write
/// matched no row.
async fn version_and_rented(
    conn: &mut SqliteConnection,
    id: BookId,
) -> Attempt<Option<(u64, u32)>> {
    let row = sqlx::query("SELECT version, rented FROM books WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let version = unsigned(row.try_get::<i64, _>(0)?).map_err(TxError::Port)?;
    let rented = unsigned(row.try_get::<i64, _>(1)?).map_err(TxError::Port)?;
    Ok(Some((version, rented)))
}

/// Why a write conditioned on the version (when given) and on at most `max_rented`
/// copies out matched no row (see [`book_write_refusal`]).
async fn refusal(
    conn: &mut SqliteConnection,
    id: BookId,
    expected: Option<u64>,
    max_rented: u32,
) -> TxError<BookRepoError> {
    match version_and_rented(conn, id).await {
        Ok(found) => TxError::Port(
            book_write_refusal(id, found, expected, max_rented).unwrap_or_else(|| {
                // Unreachable while the transaction holds the write lock; reported,
                // not hidden.
                BookRepoError::Internal("conditional write matched no row".into())
            }),
        ),
        Err(e) => e,
    }
}

impl SqliteStore {
    async fn try_insert(&self, book: &Book, event: &AuditEvent) -> Attempt<()> {
        let mut tx = self.db.begin().await?;
        let version = version_param(book.version).map_err(TxError::Port)?;
        let inserted = bind_fields(sqlx::query(INSERT), book)
            .bind(micros(book.created_at))
            .bind(version)
            .fetch_one(&mut *tx)
            .await;
        let row_id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            Err(e) if is_unique_violation(&e) => {
                let refused = match version_and_rented(&mut tx, book.id).await? {
                    Some(_) => BookRepoError::DuplicateId(book.id),
                    None => BookRepoError::DuplicateIsbn(book.isbn.clone()),
                };
                return Err(TxError::Port(refused));
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query("INSERT INTO books_fts (rowid, words) VALUES (?, ?)")
            .bind(row_id)
            .bind(search::document(book))
            .execute(&mut *tx)
            .await?;
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_insert_batch(&self, books: &[(Book, AuditEvent)]) -> Attempt<Vec<usize>> {
        let mut tx = self.db.begin().await?;
        // Stored ids and their row ids, from multi-row statements (a round trip to
        // SQLite's thread per statement, not per book).
        let mut stored: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        for chunk in books.chunks(ROWS_PER_STATEMENT) {
            let mut sql = QueryBuilder::<Sqlite>::new(
                "INSERT INTO books (id, isbn, title, author, category, year, price_cents, \
                 copies, summary, updated_at, title_key, author_key, category_key, created_at, \
                 version, rented) ",
            );
            let mut version_error = None;
            sql.push_values(chunk, |mut row, (book, _)| {
                let version = version_param(book.version).unwrap_or_else(|e| {
                    version_error = Some(e);
                    0
                });
                row.push_bind(book.id.to_string())
                    .push_bind(book.isbn.as_str().to_owned())
                    .push_bind(book.title.clone())
                    .push_bind(book.author.clone())
                    .push_bind(book.category.clone())
                    .push_bind(book.year)
                    .push_bind(book.price.cents())
                    .push_bind(book.copies)
                    .push_bind(book.summary.clone())
                    .push_bind(micros(book.updated_at))
                    .push_bind(book.title_key())
                    .push_bind(book.author_key())
                    .push_bind(book.category_key())
                    .push_bind(micros(book.created_at))
                    .push_bind(version)
                    .push_bind(0i64);
            });
            if let Some(e) = version_error {
                return Err(TxError::Port(e));
            }
            sql.push(" ON CONFLICT DO NOTHING RETURNING id, row_id");
            for row in sql.build().fetch_all(&mut *tx).await? {
                stored.insert(row.try_get("id")?, row.try_get("row_id")?);
            }
        }
        let mut skipped = Vec::new();
        let mut kept = Vec::with_capacity(stored.len());
        for (i, (book, event)) in books.iter().enumerate() {
            // The first of the batch with an id is the one stored.
            match stored.remove(&book.id.to_string()) {
                Some(row_id) => kept.push((row_id, book, event)),
                None => skipped.push(i),
            }
        }
        for chunk in kept.chunks(ROWS_PER_STATEMENT) {
            let mut sql = QueryBuilder::<Sqlite>::new("INSERT INTO books_fts (rowid, words) ");
            sql.push_values(chunk, |mut row, (row_id, book, _)| {
                row.push_bind(*row_id).push_bind(search::document(book));
            });
            sql.build().execute(&mut *tx).await?;
            let events: Vec<&AuditEvent> = chunk.iter().map(|(_, _, e)| *e).collect();
            self.write_events(&mut tx, &events).await?;
        }
        tx.commit().await?;
        Ok(skipped)
    }

    async fn try_update(&self, book: &Book, expected: u64, event: &AuditEvent) -> Attempt<Book> {
        let mut tx = self.db.begin().await?;
        let updated = bind_fields(sqlx::query(UPDATE), book)
            .bind(version_param(expected).map_err(TxError::Port)?)
            .fetch_optional(&mut *tx)
            .await;
        let updated =
            refuse_duplicate(updated, || BookRepoError::DuplicateIsbn(book.isbn.clone()))?;
        let Some(row) = updated else {
            return Err(refusal(&mut tx, book.id, Some(expected), book.copies).await);
        };
        let stored = book_from_row(&row).map_err(TxError::Port)?;
        sqlx::query("UPDATE books_fts SET words = ? WHERE rowid = ?")
            .bind(search::document(&stored))
            .bind(row.try_get::<i64, _>("row_id")?)
            .execute(&mut *tx)
            .await?;
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
        let mut tx = self.db.begin().await?;
        let expected_param = expected
            .map(version_param)
            .transpose()
            .map_err(TxError::Port)?;
        let deleted = sqlx::query(DELETE)
            .bind(id.to_string())
            .bind(expected_param)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = deleted else {
            return Err(refusal(&mut tx, id, expected, 0).await);
        };
        sqlx::query("DELETE FROM books_fts WHERE rowid = ?")
            .bind(row.try_get::<i64, _>("row_id")?)
            .execute(&mut *tx)
            .await?;
        let book = book_from_row(&row).map_err(TxError::Port)?;
        self.write_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(book)
    }
}

/// The cover columns of a row (`cover_key`, `thumb_key`).
fn cover_from_row(row: &SqliteRow) -> Result<Option<BookCover>, BookRepoError> {
    let original: Option<String> = row.try_get("cover_key").map_err(db_error)?;
    let thumbnail: Option<String> = row.try_get("thumb_key").map_err(db_error)?;
    Ok(original.map(|original| BookCover {
        original,
        thumbnail,
    }))
}

impl SqliteStore {
    async fn try_set_cover(
        &self,
        id: BookId,
        cover: Option<&BookCover>,
        if_original: Option<&str>,
        event: Option<&AuditEvent>,
    ) -> Attempt<CoverSwap> {
        let mut tx = self.db.begin().await?;
        let row = sqlx::query("SELECT cover_key, thumb_key FROM books WHERE id = ?1")
            .bind(id.to_string())
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
        sqlx::query("UPDATE books SET cover_key = ?2, thumb_key = ?3 WHERE id = ?1")
            .bind(id.to_string())
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
impl BookRepo for SqliteStore {
    async fn insert(&self, book: &Book, event: &AuditEvent) -> Result<(), BookRepoError> {
        TX.retry(|| self.try_insert(book, event)).await?;
        self.search_written();
        Ok(())
    }

    async fn insert_batch(
        &self,
        books: &[(Book, AuditEvent)],
    ) -> Result<Vec<usize>, BookRepoError> {
        check_insert_batch(books)?;
        TX.retry(|| self.try_insert_batch(books)).await
    }

    async fn compact_search(&self) -> Result<(), BookRepoError> {
        // FTS5's `optimize`: every segment merged into one (0.27 s for 100,000
        // books on the benchmark machine), in one write transaction.
        sqlx::query("INSERT INTO books_fts (books_fts) VALUES ('optimize')")
            .execute(&self.db.write)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn get(&self, id: BookId) -> Result<Book, BookRepoError> {
        let sql = format!("SELECT {BOOK_COLUMNS} FROM books WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.db.read)
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
        let stored = TX
            .retry(|| self.try_update(book, expected_version, event))
            .await?;
        self.search_written();
        Ok(stored)
    }

    async fn delete(
        &self,
        id: BookId,
        expected_version: Option<u64>,
        event: &AuditEvent,
    ) -> Result<Book, BookRepoError> {
        let deleted = TX
            .retry(|| self.try_delete(id, expected_version, event))
            .await?;
        self.search_written();
        Ok(deleted)
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
        let mut plan = self.list_plan(query).await?;
        if plan == ListPlan::DenseSearch {
            // The walk stops at the page or at the DENSE_WALK-th row, whichever comes
            // first. A full page is the page; so is whatever a walk that reached the
            // end found. Otherwise the search is not dense after all.
            let bound = self.walk_bound(query).await?;
            let page = self
                .fetch_listing(list_query(query, plan, bound.as_ref()))
                .await?;
            if page.len() >= query.limit as usize || bound.is_none() {
                return Ok(page);
            }
            plan = ListPlan::FromSortIndex;
        }
        self.fetch_listing(list_query(query, plan, None)).await
    }

    async fn count(&self, f: &BookFilter, cap: u32) -> Result<u64, BookRepoError> {
        // A search drives the count from its matches (stopping at the cap), each
        // tested against the other filters; otherwise the filters' indexes do.
        let mut sql = match &f.search {
            Some(terms) => {
                let mut sql = QueryBuilder::<Sqlite>::new(
                    "SELECT count(*) FROM (SELECT 1 FROM books_fts \
                     JOIN books ON books.row_id = books_fts.rowid WHERE books_fts MATCH ",
                );
                sql.push_bind(search::match_expression(terms));
                let others = BookFilter {
                    search: None,
                    ..f.clone()
                };
                push_filter(&mut sql, &others, ListPlan::FromFilters, "");
                sql
            }
            None => {
                let mut sql = QueryBuilder::<Sqlite>::new(
                    "SELECT count(*) FROM (SELECT 1 FROM books WHERE 1 = 1",
                );
                push_filter(&mut sql, f, ListPlan::FromFilters, "");
                sql
            }
        };
        sql.push(" LIMIT ").push_bind(i64::from(cap)).push(")");
        let (n,): (i64,) = sql
            .build_query_as()
            .fetch_one(&self.db.read)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl SqliteStore {
    /// The books `sql` (a [`list_query`]) lists; none when there is no query (the
    /// page is known to be empty).
    ///
    /// The page comes back as one JSON text (see [`list_query`]): sqlx hands each
    /// row from its connection's thread to the caller on its own, copying every
    /// value, which cost more than the query itself; one value a page costs one
    /// hand-off. The query runs on a connection kept for listings (the `listers`
    /// module), which skips the pool's test of each returned connection.
    async fn fetch_listing(
        &self,
        sql: Option<QueryBuilder<Sqlite>>,
    ) -> Result<Vec<Book>, BookRepoError> {
        let Some(mut sql) = sql else {
            return Ok(Vec::new());
        };
        let mut conn = listers::lister(&self.db.listers, &self.db.read)
            .await
            .map_err(db_error)?;
        let (json,): (String,) = sql
            .build_query_as()
            .fetch_one(&mut **conn)
            .await
            .map_err(db_error)?;
        conn.done();
        drop(conn);
        let books: Vec<StoredBook> = serde_json::from_str(&json)
            .map_err(|e| corrupt(format!("a listing's JSON page: {e}")))?;
        books.into_iter().map(StoredBook::into_book).collect()
    }
}

/// How a filtered listing is driven. SQLite's planner has no statistics on FTS5
/// and none on how many rows a filter keeps, so it tends to collect every row that
/// passes the filters and sort them all, even when walking the sort index would stop
/// after one page. KCL counts first and chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListPlan {
    /// Few rows pass the filters: read them through the filters' indexes and sort.
    FromFilters,
    /// Many rows pass: walk the sort index and keep the rows that pass, which stops
    /// after one page instead of sorting thousands. The search's matches, if any,
    /// are listed once (a cost in proportion to the matches).
    FromSortIndex,
    /// For a search alone, with prefix-indexed terms, that matches at least the
    /// sort-index threshold: walk the sort index and test each row against the
    /// search (one FTS5 lookup a row), stopping at the page or at the
    /// [`DENSE_WALK`]-th row (a bound found first on the index alone): a top-k
    /// that stops early. A dense search meets a match every few rows, so this reads
    /// a page's worth of rows instead of listing every match, or counting them to
    /// decide. When the walk stops short of a page, the listing runs again as
    /// `FromSortIndex`.
    DenseSearch,
}

/// The most rows of the sort index a [`ListPlan::DenseSearch`] walk tests: a page of
/// 20 within them needs about 1 % of the books to match.
const DENSE_WALK: i64 = 2000;

/// Where a [`ListPlan::DenseSearch`] walk stops: the sort key and id of the
/// [`DENSE_WALK`]-th row.
struct WalkBound {
    value: CursorValue,
    id: String,
}

impl SqliteStore {
    /// Picks a plan from the most selective filter: each narrowing filter's rows are
    /// counted on its own index alone, up to the sort-index threshold (no table rows
    /// are read).
    async fn list_plan(&self, query: &BookQuery) -> Result<ListPlan, BookRepoError> {
        let many_rows = self
            .db
            .sort_index_threshold
            .load(std::sync::atomic::Ordering::Relaxed);
        let f = &query.filter;
        let years = f.year_from.is_some() || f.year_to.is_some();
        let narrowing = [
            f.search.is_some(),
            f.category.is_some(),
            f.author.is_some(),
            years,
        ];
        let n = narrowing.iter().filter(|x| **x).count();
        if n == 0 {
            return Ok(ListPlan::FromSortIndex);
        }
        // The counts only choose between plans that list the same books, so a choice
        // made a few seconds ago serves: a filtered listing then costs one query.
        let key = format!(
            "{many_rows}|{:?}|{:?}|{:?}|{:?}|{:?}",
            f.search, f.category, f.author, f.year_from, f.year_to
        );
        if let Some(plan) = self.db.list_plans.get(&key) {
            return Ok(plan);
        }
        let plan = self.count_plan(f, n, many_rows).await?;
        self.db.list_plans.insert(key, plan);
        Ok(plan)
    }

    /// [`list_plan`](Self::list_plan) from the counts of the `n` narrowing filters
    /// of `f`.
    async fn count_plan(
        &self,
        f: &BookFilter,
        n: usize,
        many_rows: i64,
    ) -> Result<ListPlan, BookRepoError> {
        let years = f.year_from.is_some() || f.year_to.is_some();
        // `min(a, b, ...)` of the per-filter counts; `min` of one value is an aggregate,
        // so a single count is selected as it is.
        let mut sql = QueryBuilder::<Sqlite>::new(if n == 1 { "SELECT (" } else { "SELECT min(" });
        let mut first = true;
        let mut open = |sql: &mut QueryBuilder<Sqlite>, from_where: &str| {
            if !std::mem::take(&mut first) {
                sql.push(", ");
            }
            sql.push(format!("(SELECT count(*) FROM (SELECT 1 FROM {from_where}"));
        };
        let close = |sql: &mut QueryBuilder<Sqlite>| {
            sql.push(" LIMIT ").push_bind(many_rows).push("))");
        };
        if let Some(terms) = &f.search {
            open(&mut sql, "books_fts WHERE books_fts MATCH ");
            sql.push_bind(search::match_expression(terms));
            close(&mut sql);
        }
        if let Some(category) = &f.category {
            open(&mut sql, "books WHERE category_key = ");
            sql.push_bind(category.clone());
            close(&mut sql);
        }
        if let Some(author) = &f.author {
            open(&mut sql, "books WHERE author_key = ");
            sql.push_bind(author.clone());
            close(&mut sql);
        }
        if years {
            open(&mut sql, "books WHERE year BETWEEN ");
            sql.push_bind(f.year_from.unwrap_or(i32::MIN))
                .push(" AND ")
                .push_bind(f.year_to.unwrap_or(i32::MAX));
            close(&mut sql);
        }
        sql.push(")");
        let (rows,): (i64,) = sql
            .build_query_as()
            .fetch_one(&self.db.read)
            .await
            .map_err(db_error)?;
        if rows < many_rows {
            return Ok(ListPlan::FromFilters);
        }
        match &f.search {
            Some(terms) if n == 1 && search::prefix_indexed(terms) => Ok(ListPlan::DenseSearch),
            _ => Ok(ListPlan::FromSortIndex),
        }
    }

    /// The sort key and id of the [`DENSE_WALK`]-th row a dense search's walk would
    /// meet (the filters but the search, after the cursor), read on the sort index;
    /// `None` when fewer rows are left.
    async fn walk_bound(&self, query: &BookQuery) -> Result<Option<WalkBound>, BookRepoError> {
        let column = sort_column(query.sort.key);
        let others = BookQuery {
            filter: BookFilter {
                search: None,
                ..query.filter.clone()
            },
            sort: query.sort,
            after: query.after.clone(),
            limit: 1,
        };
        let Some(mut sql) = listing(
            &others,
            ListPlan::FromSortIndex,
            None,
            &format!("SELECT {column} AS walk_key, id"),
        ) else {
            return Ok(None);
        };
        sql.push(" OFFSET ").push_bind(DENSE_WALK - 1);
        let Some(row) = sql
            .build()
            .fetch_optional(&self.db.read)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let value = match query.sort.key {
            SortKey::Title | SortKey::Author => {
                CursorValue::Text(row.try_get("walk_key").map_err(db_error)?)
            }
            SortKey::Year | SortKey::Price | SortKey::CreatedAt | SortKey::Rentals => {
                CursorValue::Int(row.try_get("walk_key").map_err(db_error)?)
            }
        };
        Ok(Some(WalkBound {
            value,
            id: row.try_get("id").map_err(db_error)?,
        }))
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

/// Appends the filters. With [`ListPlan::FromSortIndex`], a unary `+` on every
/// filtered column but the sort column keeps the planner from driving the query by
/// that column's index.
fn push_filter(sql: &mut QueryBuilder<Sqlite>, f: &BookFilter, plan: ListPlan, sort: &str) {
    let col = |name: &'static str| -> &'static str {
        match plan {
            ListPlan::FromSortIndex | ListPlan::DenseSearch if name != sort => match name {
                "category_key" => "+category_key",
                "author_key" => "+author_key",
                _ => "+year",
            },
            _ => name,
        }
    };
    if let Some(category) = &f.category {
        sql.push(format!(" AND {} = ", col("category_key")))
            .push_bind(category.clone());
    }
    if let Some(author) = &f.author {
        sql.push(format!(" AND {} = ", col("author_key")))
            .push_bind(author.clone());
    }
    if let Some(from) = f.year_from {
        sql.push(format!(" AND {} >= ", col("year")))
            .push_bind(from);
    }
    if let Some(to) = f.year_to {
        sql.push(format!(" AND {} <= ", col("year"))).push_bind(to);
    }
    if f.available_only {
        sql.push(" AND rented < copies");
    }
    if let Some(terms) = &f.search {
        let test = match plan {
            // Few matches: read them all, then fetch their rows.
            ListPlan::FromFilters => {
                " AND row_id IN (SELECT rowid FROM books_fts WHERE books_fts MATCH "
            }
            // Many matches, every term in a prefix index: test each row met on the
            // sort index (a page visits a few hundred rows).
            ListPlan::DenseSearch => {
                " AND EXISTS (SELECT 1 FROM books_fts WHERE rowid = books.row_id AND books_fts MATCH "
            }
            // Otherwise list the matches once and walk the sort index.
            ListPlan::FromSortIndex => {
                " AND +row_id IN (SELECT rowid FROM books_fts WHERE books_fts MATCH "
            }
        };
        sql.push(test)
            .push_bind(search::match_expression(terms))
            .push(")");
    }
}

/// The listing's SQL, or `None` when the page is known to be empty: one row, one
/// JSON array of the page's books in order (each a [`BOOK_JSON`] array).
fn list_query(
    query: &BookQuery,
    plan: ListPlan,
    bound: Option<&WalkBound>,
) -> Option<QueryBuilder<Sqlite>> {
    let dir = match query.sort.order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    let column = sort_column(query.sort.key);
    let mut sql = listing(
        query,
        plan,
        bound,
        &format!(
            "SELECT json_group_array({BOOK_JSON} ORDER BY sort_key {dir}, id {dir}) FROM (\
             SELECT {BOOK_COLUMNS}, {column} AS sort_key"
        ),
    )?;
    sql.push(")");
    Some(sql)
}

/// The listing `select` (`SELECT` and the columns, after anything that encloses
/// it) `FROM books` with the query's filters, order and limit, up to `bound`
/// (inclusive) when given.
fn listing(
    query: &BookQuery,
    plan: ListPlan,
    bound: Option<&WalkBound>,
    select: &str,
) -> Option<QueryBuilder<Sqlite>> {
    if query.limit == 0 {
        return None;
    }
    let column = sort_column(query.sort.key);
    let (cmp, dir) = match query.sort.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    let mut sql = QueryBuilder::new(format!("{select} FROM books WHERE 1 = 1"));
    push_filter(&mut sql, &query.filter, plan, column);
    if let Some(b) = bound {
        // Up to the walk's last row, inclusive (`>=` descending).
        let upto = if cmp == ">" { "<=" } else { ">=" };
        sql.push(format!(" AND ({column}, id) {upto} ("));
        match &b.value {
            CursorValue::Int(v) => sql.push_bind(*v),
            CursorValue::Text(v) => sql.push_bind(v.clone()),
        };
        sql.push(", ").push_bind(b.id.clone()).push(")");
    }
    match query.keyset_start() {
        KeysetStart::First => {}
        KeysetStart::End => return None,
        KeysetStart::After(value, id) => {
            sql.push(format!(" AND ({column}, id) {cmp} ("));
            match value {
                CursorValue::Int(v) => sql.push_bind(*v),
                CursorValue::Text(v) => sql.push_bind(v.clone()),
            };
            sql.push(", ").push_bind(id.to_string()).push(")");
        }
    }
    sql.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
        .push_bind(i64::from(query.limit));
    Some(sql)
}
