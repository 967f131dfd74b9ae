use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::journal::{renew_generation, Journal, Touched};
use super::{Ports, ServiceError};
use crate::domain::{
    fold, AuditAction, AuditEvent, Book, BookDraft, BookFilter, BookId, BookQuery, BookSort,
    Cursor, CursorValue, EntityRef, ImportRow, Page, PageCount, SearchTerms, SortOrder,
    ValidationError,
};
use crate::ports::{BookRepo, Cache, Clock, IdSource};

/// A book listing as a caller asks for it (for example from a query string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListBooks {
    /// Full-text query over title, author and summary.
    pub q: Option<String>,
    /// Category (case- and accent-insensitive equality).
    pub category: Option<String>,
    /// Author (case- and accent-insensitive equality).
    pub author: Option<String>,
    /// Earliest year.
    pub year_from: Option<i32>,
    /// Latest year.
    pub year_to: Option<i32>,
    /// Only books with a free copy.
    pub available_only: bool,
    /// `title` (default), `author`, `year`, `price`, `created_at`; `-` for descending.
    pub sort: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// The `prev_cursor` of the next page: the page before it (instead of `cursor`).
    pub before: Option<String>,
    /// Count the whole listing too, up to [`CatalogService::COUNT_CAP`]
    /// ([`Page::count`]).
    pub with_count: bool,
}

/// Books stored per transaction by [`CatalogService::import`].
pub const IMPORT_BATCH: usize = 500;

/// The most skipped books [`ImportOutcome::skipped_books`] lists.
pub const MAX_SKIPPED_LISTED: usize = 1000;

/// What [`CatalogService::import`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Books created.
    pub created: u64,
    /// Books skipped: their ISBN was already in the catalog.
    pub skipped: u64,
    /// The first [`MAX_SKIPPED_LISTED`] skipped books, by line.
    pub skipped_books: Vec<SkippedBook>,
}

/// A book an import skipped because its ISBN was already in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedBook {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// Its ISBN, as stored.
    pub isbn: String,
}

#[derive(Serialize, Deserialize)]
struct BookCursor {
    s: String,
    v: CursorValue,
    id: Uuid,
    /// The book's position in the listing (0-based), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<u64>,
}

/// How a page is taken: forward from a cursor (or the start), or backward before
/// one; where it starts; whether the listing is counted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Paging {
    /// The query's order is the listing's reversed (a `before` page).
    backward: bool,
    /// The position of the cursor's book, when known.
    at: Option<u64>,
    /// Count the listing too.
    count: bool,
}

/// The catalog: books with optimistic concurrency, listing, search and history.
pub struct CatalogService {
    books: Arc<dyn BookRepo>,
    blobs: Arc<dyn crate::ports::BlobStore>,
    journal: Journal,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    cache_ttl: Duration,
    list_cache_ttl: Duration,
    /// Decoded pages of this process, under the same keys as in the cache port (so
    /// the generation invalidates them too): a hit costs no decoding.
    pages: moka::future::Cache<String, Arc<CachedPage>>,
}

/// A cached listing page, with the query it answers (checked on read, so a hash
/// collision can never serve another query's page).
#[derive(Serialize, Deserialize)]
struct CachedPage {
    query: String,
    page: Arc<Page<Book>>,
}

/// The error of a load shared by several callers, for each of them.
fn unshare(e: Arc<ServiceError>) -> ServiceError {
    Arc::try_unwrap(e).unwrap_or_else(|shared| match &*shared {
        ServiceError::Unavailable(_) => ServiceError::Unavailable(shared.to_string().into()),
        _ => ServiceError::Internal(shared.to_string().into()),
    })
}

impl CatalogService {
    /// The largest page.
    pub const MAX_LIMIT: u32 = 100;
    /// The page size when none is asked for.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// How far [`ListBooks::with_count`] counts: past it, "1,000+".
    pub const COUNT_CAP: u32 = 1000;

    pub(crate) fn new(p: &Ports, settings: &super::Settings) -> Self {
        Self {
            books: p.books.clone(),
            blobs: p.blobs.clone(),
            journal: Journal::new(p),
            cache: p.cache.clone(),
            clock: p.clock.clone(),
            ids: p.ids.clone(),
            cache_ttl: settings.book_cache_ttl,
            list_cache_ttl: settings.list_cache_ttl,
            pages: moka::future::Cache::builder()
                .max_capacity(32 * 1024 * 1024)
                .weigher(|k: &String, p: &Arc<CachedPage>| {
                    let books: usize = p
                        .page
                        .items
                        .iter()
                        .map(|b| 256 + b.title.len() + b.author.len() + b.summary.len())
                        .sum();
                    u32::try_from(k.len() + p.query.len() + books).unwrap_or(u32::MAX)
                })
                .time_to_live(settings.list_cache_ttl.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Adds a book.
    pub async fn create(&self, draft: BookDraft) -> Result<Book, ServiceError> {
        let now = self.clock.now();
        let book = Book::new(BookId(self.ids.new_id()), draft, now);
        let event = self
            .journal
            .event(AuditAction::Created, EntityRef::book(book.id), &book);
        self.books.insert(&book, &event).await?;
        crate::crash_point!("catalog.create.committed");
        self.journal.committed(Touched::Catalog).await;
        Ok(book)
    }

    /// Imports books in bulk (see [`crate::domain::parse_book_import`] for the CSV
    /// form): stored [`IMPORT_BATCH`] at a time, each batch in one transaction
    /// with one `created` audit event per book. A book whose ISBN is already in
    /// the catalog is skipped and reported, so an import that failed midway (the
    /// batches before the failure are kept; the error says how many books) can
    /// simply be run again.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use kcl_core::domain::parse_book_import;
    /// use kcl_core::memory::MemoryBackend;
    /// use kcl_core::Services;
    ///
    /// let s = Services::new(MemoryBackend::new().ports());
    /// let csv = "title,author,isbn,year\nDom Casmurro,Machado de Assis,9788535910667,1899\n";
    /// let first = s.catalog.import(parse_book_import(csv.as_bytes()).unwrap()).await.unwrap();
    /// assert_eq!((first.created, first.skipped), (1, 0));
    /// let again = s.catalog.import(parse_book_import(csv.as_bytes()).unwrap()).await.unwrap();
    /// assert_eq!((again.created, again.skipped), (0, 1));
    /// assert_eq!(again.skipped_books[0].line, 2);
    /// # });
    /// ```
    pub async fn import(&self, rows: Vec<ImportRow>) -> Result<ImportOutcome, ServiceError> {
        let mut outcome = ImportOutcome::default();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let now = self.clock.now();
            let mut lines = Vec::with_capacity(IMPORT_BATCH);
            let pairs: Vec<(Book, AuditEvent)> = rows
                .by_ref()
                .take(IMPORT_BATCH)
                .map(|row| {
                    lines.push(row.line);
                    let book = Book::new(BookId(self.ids.new_id()), row.draft, now);
                    let event =
                        self.journal
                            .event(AuditAction::Created, EntityRef::book(book.id), &book);
                    (book, event)
                })
                .collect();
            let skipped = match self.books.insert_batch(&pairs).await {
                Ok(skipped) => skipped,
                Err(e) => {
                    if outcome.created > 0 {
                        self.journal.committed(Touched::Catalog).await;
                    }
                    let e = ServiceError::from(e);
                    if outcome.created == 0 {
                        return Err(e);
                    }
                    let why = format!(
                        "{} books were imported before this failure ({e}); importing the \
                         file again skips them",
                        outcome.created
                    );
                    return Err(match e {
                        ServiceError::Unavailable(_) => ServiceError::Unavailable(why.into()),
                        _ => ServiceError::Internal(why.into()),
                    });
                }
            };
            crate::crash_point!("catalog.import.batch_committed");
            outcome.created += (pairs.len() - skipped.len()) as u64;
            outcome.skipped += skipped.len() as u64;
            for i in skipped {
                if outcome.skipped_books.len() < MAX_SKIPPED_LISTED {
                    outcome.skipped_books.push(SkippedBook {
                        line: lines[i],
                        isbn: pairs[i].0.isbn.as_str().to_owned(),
                    });
                }
            }
            self.journal.retire(Touched::Catalog).await;
        }
        if outcome.created > 0 {
            // The books are in; an index left as the batches wrote it only costs
            // searches time, so a failure here is logged, not the import's.
            if let Err(e) = self.books.compact_search().await {
                tracing::warn!(error = %e, "compacting the search index after an import");
            }
        }
        self.journal.committed(Touched::Catalog).await;
        Ok(outcome)
    }

    /// Reads a book (through the cache).
    pub async fn get(&self, id: BookId) -> Result<Book, ServiceError> {
        // Under the catalog's generation: a read that raced a write can only have
        // stored its stale copy under a generation that write has already retired.
        let key = format!("kcl:book:{}:{id}", self.generation().await);
        match self.cache.get(&key).await {
            Ok(Some(bytes)) => {
                if let Ok(book) = serde_json::from_slice::<Book>(&bytes) {
                    cache_metric("book", "hit");
                    return Ok(book);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache read failed"),
        }
        cache_metric("book", "miss");
        let book = self.books.get(id).await?;
        if let Ok(json) = serde_json::to_vec(&book) {
            if let Err(e) = self
                .cache
                .set(&key, Bytes::from(json), self.cache_ttl)
                .await
            {
                tracing::warn!(error = %e, "cache write failed");
            }
        }
        Ok(book)
    }

    /// Replaces a book's fields if it is still at `expected_version`.
    pub async fn update(
        &self,
        id: BookId,
        draft: BookDraft,
        expected_version: u64,
    ) -> Result<Book, ServiceError> {
        check_version(expected_version)?;
        let current = self.books.get(id).await?;
        if current.version != expected_version {
            return Err(crate::ports::BookRepoError::VersionConflict {
                id,
                expected: expected_version,
                actual: current.version,
            }
            .into());
        }
        let next = current.revised(draft, self.clock.now());
        // The event records the book as written: its fields, and the copies rented
        // and cover as they were read just before.
        let event = self
            .journal
            .event(AuditAction::Updated, EntityRef::book(id), &next);
        let stored = self.books.update(&next, expected_version, &event).await?;
        self.journal.committed(Touched::Catalog).await;
        Ok(stored)
    }

    /// Deletes a book with no copy rented (and at `expected_version`, when given).
    pub async fn delete(
        &self,
        id: BookId,
        expected_version: Option<u64>,
    ) -> Result<(), ServiceError> {
        if let Some(v) = expected_version {
            check_version(v)?;
        }
        // The event records the book as it was read just before (a change between
        // the read and the delete can only be one without a version check).
        let before = self.books.get(id).await?;
        let event = self
            .journal
            .event(AuditAction::Deleted, EntityRef::book(id), &before);
        let book = self.books.delete(id, expected_version, &event).await?;
        // The cover's files go with the book (best effort: an orphan file is harmless).
        if let Some(cover) = &book.cover {
            for k in std::iter::once(&cover.original).chain(cover.thumbnail.iter()) {
                if let Ok(key) = crate::ports::BlobKey::parse(k) {
                    if let Err(e) = self.blobs.delete(&key).await {
                        tracing::warn!(key = %k, error = %e, "could not delete a deleted book's cover");
                    }
                }
            }
        }
        self.journal.committed(Touched::Catalog).await;
        Ok(())
    }

    /// Lists books: filters, sort, keyset pagination with an opaque cursor.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use kcl_core::{memory::MemoryBackend, domain::{BookDraft, Isbn}, services::ListBooks};
    /// let kcl = MemoryBackend::new().services();
    /// for i in 0..3 {
    ///     let d = BookDraft::builder(format!("Book {i}"), "Author", Isbn::synthetic(i).as_str())
    ///         .year(2000 + i as i64).build().unwrap();
    ///     kcl.catalog.create(d).await.unwrap();
    /// }
    /// let ask = ListBooks { sort: Some("-year".into()), limit: Some(2), ..Default::default() };
    /// let page = kcl.catalog.list(ask.clone()).await.unwrap();
    /// assert_eq!(page.items[0].year, 2002);
    /// let rest = kcl.catalog.list(ListBooks { cursor: page.next_cursor, ..ask }).await.unwrap();
    /// assert_eq!(rest.items.len(), 1);
    /// assert!(rest.next_cursor.is_none());
    /// # });
    /// ```
    pub async fn list(&self, ask: ListBooks) -> Result<Page<Book>, ServiceError> {
        Ok(Page::clone(&*self.list_shared(ask).await?))
    }

    /// Like [`list`](Self::list), sharing the page with the cache instead of copying
    /// it (what a host that only serializes the page wants).
    ///
    /// Concurrent misses of one listing in this process run one query, not one each.
    pub async fn list_shared(&self, ask: ListBooks) -> Result<Arc<Page<Book>>, ServiceError> {
        let (query, paging) = self.parse_listing(&ask)?;
        if self.list_cache_ttl.is_zero() {
            // Nothing is cached; the generation is only read for where a replica
            // must stand.
            let generation = match self.journal.has_replicas() {
                true => self.generation().await,
                false => String::new(),
            };
            return Ok(Arc::new(
                self.list_uncached(&query, paging, &generation).await?,
            ));
        }
        let generation = self.generation().await;
        let canonical = format!("{query:?} {paging:?}");
        let key = format!(
            "kcl:books:{}:{generation}:{:016x}",
            env!("CARGO_PKG_VERSION"),
            stable_hash(&canonical)
        );
        let loaded = std::sync::atomic::AtomicBool::new(false);
        let load = async {
            loaded.store(true, std::sync::atomic::Ordering::Relaxed);
            self.load_page(&key, &query, paging, &canonical, &generation)
                .await
        };
        let cached = self
            .pages
            .try_get_with(key.clone(), load)
            .await
            .map_err(unshare)?;
        if !loaded.load(std::sync::atomic::Ordering::Relaxed) {
            cache_metric("list", "hit");
        }
        if cached.query == canonical {
            return Ok(cached.page.clone());
        }
        // Two queries with one hash (never seen; possible): answer uncached.
        Ok(Arc::new(
            self.list_uncached(&query, paging, &generation).await?,
        ))
    }

    /// A page from the shared cache, or from the repository (then stored there).
    async fn load_page(
        &self,
        key: &str,
        query: &BookQuery,
        paging: Paging,
        canonical: &str,
        generation: &str,
    ) -> Result<Arc<CachedPage>, ServiceError> {
        match self.cache.get(key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<CachedPage>(&bytes) {
                Ok(hit) if hit.query == canonical => {
                    cache_metric("list", "hit");
                    return Ok(Arc::new(hit));
                }
                _ => {}
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache read failed"),
        }
        cache_metric("list", "miss");
        let cached = CachedPage {
            query: canonical.to_owned(),
            page: Arc::new(self.list_uncached(query, paging, generation).await?),
        };
        if let Ok(json) = serde_json::to_vec(&cached) {
            if let Err(e) = self
                .cache
                .set(key, Bytes::from(json), self.list_cache_ttl)
                .await
            {
                tracing::warn!(error = %e, "cache write failed");
            }
        }
        Ok(Arc::new(cached))
    }

    /// The catalog's generation: listings are cached under it, and every write
    /// replaces it, so no listing cached before a write is served after it.
    async fn generation(&self) -> String {
        match self.cache.get(GENERATION_KEY).await {
            Ok(Some(g)) => String::from_utf8_lossy(&g).into_owned(),
            _ => renew_generation(self.cache.as_ref(), GENERATION_KEY).await,
        }
    }

    /// A page from the repository, read under `generation`: on a read replica when
    /// one has replayed every change made before the generation was installed (and
    /// the client's own writes), so that the page may be cached under it; else on
    /// the primary.
    async fn list_uncached(
        &self,
        query: &BookQuery,
        paging: Paging,
        generation: &str,
    ) -> Result<Page<Book>, ServiceError> {
        let limit = query.limit;
        let mut repo_query = query.clone();
        repo_query.limit = limit + 1;
        let position = self.journal.read_position(generation).await;
        let count = async {
            if !paging.count {
                return Ok(None);
            }
            let cap = Self::COUNT_CAP;
            let n = crate::context::with_read_position(
                position,
                self.books.count(&query.filter, cap + 1),
            )
            .await?;
            Ok::<_, ServiceError>(Some(PageCount {
                value: n.min(u64::from(cap)),
                capped: n > u64::from(cap),
            }))
        };
        let (items, count) = tokio::join!(
            crate::context::with_read_position(position, self.books.list(&repo_query)),
            count
        );
        let (mut items, count) = (items?, count?);
        if paging.backward && items.is_empty() {
            // Nothing before the cursor any more (those books went): the first page.
            let first = BookQuery {
                sort: reversed(query.sort),
                after: None,
                ..repo_query.clone()
            };
            let first = crate::context::with_read_position(position, self.books.list(&first));
            items = first.await?;
            let more = items.len() > limit as usize;
            items.truncate(limit as usize);
            return Ok(self.page_of(items, reversed(query.sort), Some(0), more, false, count));
        }
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        // The listing's own order (a `before` page was read backward).
        let sort = if paging.backward {
            items.reverse();
            reversed(query.sort)
        } else {
            query.sort
        };
        let n = items.len() as u64;
        let offset = match (paging.backward, paging.at) {
            (false, None) if query.after.is_none() => Some(0),
            (false, at) => at.map(|p| p.saturating_add(1)),
            // Nothing more before: this page is the first, whatever the cursor said.
            (true, _) if !more => Some(0),
            (true, at) => at.map(|p| p.saturating_sub(n)),
        };
        // Forward: more after when the repository had more; something before when
        // the page starts after a cursor. Backward: the cursor's book is after; more
        // before when the repository had more.
        let (has_next, has_prev) = if paging.backward {
            (true, more)
        } else {
            (more, query.after.is_some())
        };
        Ok(self.page_of(items, sort, offset, has_next, has_prev, count))
    }

    /// A page of `items` in the listing's `sort`, starting at `offset`, with the
    /// cursors of the pages after and before it when there are some.
    fn page_of(
        &self,
        items: Vec<Book>,
        sort: BookSort,
        offset: Option<u64>,
        has_next: bool,
        has_prev: bool,
        count: Option<PageCount>,
    ) -> Page<Book> {
        let n = items.len() as u64;
        let cursor = |b: &Book, p: Option<u64>| {
            Cursor::encode(&BookCursor {
                s: sort.to_string(),
                v: sort.value_of(b),
                id: b.id.0,
                p,
            })
        };
        let next_cursor = has_next
            .then(|| {
                items
                    .last()
                    .map(|b| cursor(b, offset.map(|o| o.saturating_add(n.saturating_sub(1)))))
            })
            .flatten();
        let prev_cursor = has_prev
            .then(|| items.first().map(|b| cursor(b, offset)))
            .flatten();
        Page {
            items,
            next_cursor,
            prev_cursor,
            offset,
            count,
        }
    }

    /// Turns a caller's listing into a repository query, validating every part (a
    /// `before` page is the query of the listing's reversed order).
    pub fn parse_list(&self, ask: &ListBooks) -> Result<BookQuery, ServiceError> {
        self.parse_listing(ask).map(|(q, _)| q)
    }

    fn parse_listing(&self, ask: &ListBooks) -> Result<(BookQuery, Paging), ServiceError> {
        let mut errors = Vec::new();
        let mut check = |r: Result<(), ValidationError>| {
            if let Err(e) = r {
                errors.extend(e.errors);
            }
        };
        let mut search = None;
        if let Some(q) = &ask.q {
            check(SearchTerms::parse(q).map(|s| search = s));
        }
        let sort: BookSort = match &ask.sort {
            Some(s) if !s.is_empty() => match s.parse() {
                Ok(s) => s,
                Err(e) => {
                    check(Err(e));
                    BookSort::default()
                }
            },
            _ => BookSort::default(),
        };
        let limit = ask.limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            check(Err(ValidationError::field(
                "limit",
                "out-of-range",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            )));
        }
        if let (Some(a), Some(b)) = (ask.year_from, ask.year_to) {
            if a > b {
                check(Err(ValidationError::field(
                    "year_from",
                    "bad-range",
                    "must not be after year_to",
                )));
            }
        }
        let text_filter =
            |field: &str, v: &Option<String>| -> Result<Option<String>, ValidationError> {
                match v.as_deref().map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(s) if s.chars().count() > 200 => Err(ValidationError::field(
                        field,
                        "too-long",
                        "must have at most 200 characters",
                    )),
                    Some(s) => Ok(Some(fold(s))),
                }
            };
        let category = text_filter("category", &ask.category);
        let author = text_filter("author", &ask.author);
        let (category, author) = match (category, author) {
            (Ok(c), Ok(a)) => (c, a),
            (c, a) => {
                check(c.map(|_| ()));
                check(a.map(|_| ()));
                (None, None)
            }
        };
        let mut after = None;
        let mut paging = Paging {
            count: ask.with_count,
            ..Paging::default()
        };
        let cursor = ask.cursor.as_deref().filter(|c| !c.is_empty());
        let before = ask.before.as_deref().filter(|c| !c.is_empty());
        if cursor.is_some() && before.is_some() {
            check(Err(ValidationError::field(
                "before",
                "bad-cursor",
                "give `cursor` (the next page) or `before` (the previous page), not both",
            )));
        }
        for (field, c, backward) in [("cursor", cursor, false), ("before", before, true)] {
            let Some(c) = c else { continue };
            match Cursor::decode::<BookCursor>(c) {
                Ok(bc) if bc.s == sort.to_string() => {
                    after = Some((bc.v, BookId(bc.id)));
                    paging.backward = backward;
                    // A position past any listing's length was not made here.
                    paging.at = bc.p.filter(|p| *p <= u64::from(u32::MAX));
                }
                Ok(_) => check(Err(ValidationError::field(
                    field,
                    "bad-cursor",
                    "was made for another sort order",
                ))),
                Err(mut e) => {
                    for f in &mut e.errors {
                        f.field = field.to_owned();
                    }
                    check(Err(e))
                }
            }
        }
        let sort = if paging.backward {
            reversed(sort)
        } else {
            sort
        };
        if !errors.is_empty() {
            return Err(ValidationError { errors }.into());
        }
        Ok((
            BookQuery {
                filter: BookFilter {
                    search,
                    category,
                    author,
                    year_from: ask.year_from,
                    year_to: ask.year_to,
                    available_only: ask.available_only,
                },
                sort,
                after,
                limit,
            },
            paging,
        ))
    }

    /// A book's history, oldest first (at most `limit` events, 1..=1000).
    pub async fn history(&self, id: BookId, limit: u32) -> Result<Vec<AuditEvent>, ServiceError> {
        self.journal.history(&EntityRef::book(id), limit).await
    }

    /// Moves audit events that changes committed but that did not reach the audit log
    /// yet (a crash, an audit log that was down) to it; returns how many moved. Hosts
    /// call it at start and every few seconds; it is safe in any number of processes
    /// at once.
    pub async fn relay_audit(&self) -> u64 {
        self.journal.relay().await
    }

    /// Drops every cached book and listing of this catalog (every process sharing
    /// the cache port sees it).
    pub async fn invalidate(&self) {
        renew_generation(self.cache.as_ref(), GENERATION_KEY).await;
    }
}

/// Versions are positive and fit every database's signed 64-bit integers.
fn check_version(v: u64) -> Result<(), ValidationError> {
    if v == 0 || v > i64::MAX as u64 {
        return Err(ValidationError::field(
            "version",
            "out-of-range",
            "must be a version read from the book (1 or more)",
        ));
    }
    Ok(())
}

/// The cache key of the catalog's generation (see [`CatalogService::list_shared`]).
pub(crate) const GENERATION_KEY: &str = "kcl:books:generation";

/// FNV-1a: a hash that is the same in every process and Rust version.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Counts a cache lookup (`kcl_cache_requests_total{cache, result}`).
fn cache_metric(cache: &'static str, result: &'static str) {
    metrics::counter!("kcl_cache_requests_total", "cache" => cache, "result" => result)
        .increment(1);
}

/// The same key in the other order.
fn reversed(sort: BookSort) -> BookSort {
    BookSort {
        key: sort.key,
        order: match sort.order {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        },
    }
}
