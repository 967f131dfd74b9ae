//! The SQLite store beyond the kits: it agrees with the in-memory reference on many
//! listings, keeps its data across reopening, never overbooks under concurrency
//! (also from two independent handles on one file), and its probe sees a closed pool.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use kcl_core::domain::{
    fold, Book, BookDraft, BookFilter, BookId, BookQuery, BookSort, CursorValue, Isbn, Rental,
    RentalId, RentalQuery, RentalStatusFilter, Renter, SearchTerms, SortKey, SortOrder,
};
use kcl_core::memory::MemoryCatalog;
use kcl_core::ports::{BookRepo, HealthProbe, RentalRepo, RentalRepoError};
use kcl_local::{SqliteProbe, SqliteStore};
use uuid::Uuid;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "Ação",
    "acao",
    "São",
    "sao",
    "ſtar",
    "star",
    "Straße",
    "xadrez",
    "xu",
    "日本",
    "日",
    "Ωmega",
    "ωmega",
    "İstanbul",
    "istanbul",
    "a",
    "ab",
    "Abc",
    "naïve",
    "co-op",
    "x86",
    "42",
];

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("time")
}

fn random_book(rng: &mut Rng, n: u64) -> Book {
    let mut text = |k: usize| {
        (0..k)
            .map(|_| rng.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (title, author, summary) = (text(2), text(1), text(3));
    let category = rng.pick(&["Romance", "romance", "Poesia", "Ciência"]);
    let draft = BookDraft::builder(title, author, Isbn::synthetic(n).as_str())
        .category(category)
        .year(1990 + (rng.next() % 5) as i64)
        .price_cents((rng.next() % 4) as i64 * 500)
        .copies((rng.next() % 3) as i64)
        .summary(summary)
        .build()
        .expect("draft");
    // Few distinct creation times, so sorting by them makes ties.
    let created = at(1_700_000_000_000_000 + (rng.next() % 4) as i64 * 1_000);
    // Random ids (not time-ordered), so the id tiebreak is exercised.
    Book::new(
        BookId(Uuid::from_u128(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        draft,
        created,
    )
}

fn rental_of(book: &Book, i: u64, rented_at: DateTime<Utc>, due: NaiveDate) -> Rental {
    Rental {
        id: RentalId(Uuid::from_u128(u128::from(i) * 7919 + 13)),
        book_id: book.id,
        renter: Renter::parse(if i.is_multiple_of(2) { "ana" } else { "bia" }).expect("renter"),
        rented_at,
        due_date: due,
        returned_at: None,
    }
}

/// Both stores hold the same books and rentals.
async fn seed(
    sqlite: &SqliteStore,
    memory: &MemoryCatalog,
    rng: &mut Rng,
) -> (Vec<Book>, Vec<Rental>) {
    let mut books = Vec::new();
    let mut rentals = Vec::new();
    for n in 0..60 {
        let book = random_book(rng, n);
        BookRepo::insert(sqlite, &book).await.expect("insert");
        BookRepo::insert(memory, &book).await.expect("insert");
        for copy in 0..book.copies {
            if rng.next().is_multiple_of(2) {
                let i = n * 10 + u64::from(copy);
                // Same time for some rentals, so the id tiebreak is exercised.
                let r = rental_of(&book, i, at(1_700_000_000_000_000 + (i % 5) as i64), due(i));
                sqlite.rent(&r).await.expect("rent");
                memory.rent(&r).await.expect("rent");
                if i % 3 == 0 {
                    let when = at(1_700_000_100_000_000);
                    sqlite.return_rental(r.id, when).await.expect("return");
                    memory.return_rental(r.id, when).await.expect("return");
                }
                rentals.push(r);
            }
        }
        books.push(book);
    }
    (books, rentals)
}

fn due(i: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1 + (i % 20) as u32).expect("date")
}

fn filters(rng: &mut Rng) -> Vec<BookFilter> {
    let mut out = vec![BookFilter::default()];
    for _ in 0..25 {
        let words: Vec<&str> = (0..1 + rng.next() % 2).map(|_| rng.pick(WORDS)).collect();
        // Prefixes of the words too.
        let query: String = words
            .iter()
            .map(|w| {
                w.chars()
                    .take(1 + (rng.next() % 3) as usize)
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ");
        out.push(BookFilter {
            search: SearchTerms::parse(&query).expect("terms"),
            category: rng
                .next()
                .is_multiple_of(3)
                .then(|| fold(rng.pick(&["ROMANCE", "poesia", "Ciencia"]))),
            author: rng.next().is_multiple_of(5).then(|| fold(rng.pick(WORDS))),
            year_from: rng.next().is_multiple_of(3).then_some(1991),
            year_to: rng.next().is_multiple_of(3).then_some(1993),
            available_only: rng.next().is_multiple_of(2),
        });
    }
    out
}

/// Walks every page of a listing on both stores and compares them page by page;
/// returns how many books the listing has.
async fn compare_pages(sqlite: &SqliteStore, memory: &MemoryCatalog, mut q: BookQuery) -> usize {
    let mut seen = 0;
    loop {
        let ours = BookRepo::list(sqlite, &q).await.expect("list");
        let reference = BookRepo::list(memory, &q).await.expect("list");
        assert_eq!(ours, reference, "listing {q:?}");
        seen += ours.len();
        match ours.last() {
            Some(last) if ours.len() == q.limit as usize => {
                q.after = Some((q.sort.value_of(last), last.id))
            }
            _ => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_agree_with_the_reference() {
    let sqlite = SqliteStore::in_memory().await.expect("open");
    let memory = MemoryCatalog::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (books, rentals) = seed(&sqlite, &memory, &mut rng).await;
    let keys = [
        SortKey::Title,
        SortKey::Author,
        SortKey::Year,
        SortKey::Price,
        SortKey::CreatedAt,
    ];
    let (mut searches, mut found) = (0, 0);
    let mut all_filters = filters(&mut rng);
    // Whole words too: terms longer than the FTS prefix indexes take another path.
    for q in ["日本", "Straße", "ωmega istanbul", "xadrez"] {
        all_filters.push(BookFilter {
            search: SearchTerms::parse(q).expect("terms"),
            ..BookFilter::default()
        });
    }
    // Both plans: sorting the filtered rows, and walking the sort index (threshold 1).
    for threshold in [SqliteStore::DEFAULT_SORT_INDEX_THRESHOLD, 1] {
        sqlite.set_sort_index_threshold(threshold);
        for filter in all_filters.clone() {
            for key in keys {
                for order in [SortOrder::Asc, SortOrder::Desc] {
                    let sort = BookSort { key, order };
                    let q = BookQuery {
                        filter: filter.clone(),
                        sort,
                        after: None,
                        limit: 7,
                    };
                    let n = compare_pages(&sqlite, &memory, q).await;
                    if filter.search.is_some() {
                        searches += 1;
                        found += usize::from(n > 0);
                    }
                }
            }
        }
    }
    sqlite.set_sort_index_threshold(SqliteStore::DEFAULT_SORT_INDEX_THRESHOLD);
    assert!(
        found > searches / 4,
        "searches find books ({found} of {searches})"
    );
    // Cursors of the other type than the sort key, and limit 0.
    let any = books[0].id;
    for key in keys {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for value in [CursorValue::Int(1995), CursorValue::Text("m".into())] {
                let q = BookQuery {
                    filter: BookFilter::default(),
                    sort: BookSort { key, order },
                    after: Some((value, any)),
                    limit: 100,
                };
                compare_pages(&sqlite, &memory, q.clone()).await;
                let none = BookQuery { limit: 0, ..q };
                assert!(BookRepo::list(&sqlite, &none)
                    .await
                    .expect("list")
                    .is_empty());
            }
        }
    }
    compare_rentals(&sqlite, &memory, &books, &rentals).await;
}

async fn compare_rentals(
    sqlite: &SqliteStore,
    memory: &MemoryCatalog,
    books: &[Book],
    rentals: &[Rental],
) {
    let statuses = [
        None,
        Some(RentalStatusFilter::Active),
        Some(RentalStatusFilter::Returned),
        Some(RentalStatusFilter::Overdue),
    ];
    let renters = [None, Some(Renter::parse("ana").expect("renter"))];
    let book_ids = [None, rentals.first().map(|r| r.book_id), Some(books[0].id)];
    for status in statuses {
        for renter in &renters {
            for book_id in book_ids {
                let mut q = RentalQuery {
                    book_id,
                    renter: renter.clone(),
                    status,
                    today: NaiveDate::from_ymd_opt(2026, 1, 10).expect("date"),
                    after: None,
                    limit: 4,
                };
                loop {
                    let ours = RentalRepo::list(sqlite, &q).await.expect("list");
                    assert_eq!(
                        ours,
                        RentalRepo::list(memory, &q).await.expect("list"),
                        "{q:?}"
                    );
                    match ours.last() {
                        Some(last) if ours.len() == 4 => q.after = Some((last.rented_at, last.id)),
                        _ => break,
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_follows_updates_and_deletes() {
    let store = SqliteStore::in_memory().await.expect("open");
    let draft = BookDraft::builder(
        "Vidas Secas",
        "Graciliano Ramos",
        Isbn::synthetic(7).as_str(),
    )
    .year(1938)
    .build()
    .expect("draft");
    let book = Book::new(BookId(Uuid::now_v7()), draft, Utc::now());
    store.insert(&book).await.expect("insert");
    let search = |q: &str| BookQuery {
        filter: BookFilter {
            search: SearchTerms::parse(q).expect("terms"),
            ..Default::default()
        },
        sort: BookSort::default(),
        after: None,
        limit: 10,
    };
    assert_eq!(
        BookRepo::list(&store, &search("vid sec"))
            .await
            .expect("list")
            .len(),
        1
    );
    let mut next = book.clone();
    next.title = "Angústia".into();
    store.update(&next, 1).await.expect("update");
    assert!(
        BookRepo::list(&store, &search("vidas"))
            .await
            .expect("list")
            .is_empty(),
        "old words gone"
    );
    assert_eq!(
        BookRepo::list(&store, &search("angust"))
            .await
            .expect("list")
            .len(),
        1,
        "new words found"
    );
    store.delete(book.id, Some(2)).await.expect("delete");
    // Words as `kcl_core::domain::words` splits them, prefixes byte for byte.
    let mut odd = plain_book(8, 1);
    odd.title = "ſtar x86 日本".into();
    odd.summary = String::new();
    store.insert(&odd).await.expect("insert");
    for (q, hits) in [
        ("s", 0),
        ("ſ", 1),
        ("ſt", 1),
        ("x8", 1),
        ("86", 0),
        ("日", 1),
        ("本", 0),
    ] {
        let got = BookRepo::list(&store, &search(q)).await.expect("list");
        assert_eq!(got.len(), hits, "{q:?}");
    }
    assert!(
        BookRepo::list(&store, &search("angust"))
            .await
            .expect("list")
            .is_empty(),
        "deleted books are not found"
    );
}

fn plain_book(n: u64, copies: i64) -> Book {
    let draft = BookDraft::builder(format!("Book {n}"), "Author", Isbn::synthetic(n).as_str())
        .year(2000)
        .copies(copies)
        .summary("Ação e reação")
        .build()
        .expect("draft");
    Book::new(
        BookId(Uuid::now_v7()),
        draft,
        kcl_core::ports::Clock::now(&kcl_core::ports::SystemClock),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn books_rentals_and_search_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kcl.db");
    let book = plain_book(11, 2);
    let rental = rental_of(
        &book,
        1,
        kcl_core::ports::Clock::now(&kcl_core::ports::SystemClock),
        due(1),
    );
    {
        let store = SqliteStore::open(&path).await.expect("open");
        store.insert(&book).await.expect("insert");
        store.rent(&rental).await.expect("rent");
        store.close().await;
    }
    let store = SqliteStore::open(&path)
        .await
        .expect("reopen (migrations already applied)");
    let mut expected = book.clone();
    expected.rented = 1;
    assert_eq!(BookRepo::get(&store, book.id).await.expect("get"), expected);
    assert_eq!(
        RentalRepo::get(&store, rental.id).await.expect("get"),
        rental
    );
    let q = BookQuery {
        filter: BookFilter {
            search: SearchTerms::parse("reac").expect("terms"),
            ..Default::default()
        },
        sort: BookSort::default(),
        after: None,
        limit: 10,
    };
    assert_eq!(
        BookRepo::list(&store, &q).await.expect("search"),
        [expected]
    );
}

async fn rent_from_many_tasks(handles: &[Arc<SqliteStore>], book: &Book, tasks: u64) -> usize {
    let mut joins = Vec::new();
    for i in 0..tasks {
        let store = handles[i as usize % handles.len()].clone();
        let rental = rental_of(book, 1000 + i, Utc::now(), due(i));
        joins.push(tokio::spawn(async move { store.rent(&rental).await }));
    }
    let mut ok = 0;
    for j in joins {
        match j.await.expect("task") {
            Ok(()) => ok += 1,
            Err(RentalRepoError::NoCopyAvailable(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_copies_go_to_exactly_as_many_renters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kcl.db");
    // Two independent stores on one file stand for two processes: their writers
    // contend for the file lock.
    let a = Arc::new(SqliteStore::open(&path).await.expect("open"));
    let b = Arc::new(SqliteStore::open(&path).await.expect("open"));
    let book = plain_book(21, 3);
    a.insert(&book).await.expect("insert");
    let ok = rent_from_many_tasks(&[a.clone(), b.clone()], &book, 60).await;
    assert_eq!(ok, 3, "exactly `copies` rentals succeed");
    assert_eq!(
        BookRepo::get(b.as_ref(), book.id)
            .await
            .expect("get")
            .rented,
        3
    );
    let active = RentalRepo::list(
        a.as_ref(),
        &RentalQuery {
            book_id: Some(book.id),
            renter: None,
            status: Some(RentalStatusFilter::Active),
            today: Utc::now().date_naive(),
            after: None,
            limit: 100,
        },
    )
    .await
    .expect("list");
    assert_eq!(active.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_fails_once_the_store_is_closed() {
    let store = SqliteStore::in_memory().await.expect("open");
    let probe = SqliteProbe::new(&store);
    assert_eq!(probe.name(), "database");
    probe.check().await.expect("healthy");
    store.close().await;
    assert!(probe.check().await.is_err(), "a closed store is not ready");
    let err = BookRepo::get(&store, BookId(Uuid::nil()))
        .await
        .expect_err("closed");
    assert!(
        matches!(err, kcl_core::ports::BookRepoError::Unavailable(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_bad_path_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let err = SqliteStore::open(&file.join("kcl.db"))
        .await
        .expect_err("a file as a directory");
    assert!(matches!(err, kcl_local::LocalError::Io { .. }), "{err}");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 8192]).expect("write");
    let err = SqliteStore::open(&garbage)
        .await
        .expect_err("not a database");
    assert!(!err.to_string().is_empty());
}
