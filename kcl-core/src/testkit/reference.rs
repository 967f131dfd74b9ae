//! A comparison with the in-memory reference: an adapter's listings must be the
//! reference's, page by page, on random data. Stronger than the per-port kits for
//! adapters that plan queries (SQL, full-text indexes).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::{
    fold, Book, BookDraft, BookFilter, BookId, BookQuery, BookSort, CursorValue, Isbn, Rental,
    RentalId, RentalQuery, RentalStatusFilter, Renter, SearchTerms, SortKey, SortOrder,
};
use crate::memory::MemoryCatalog;
use crate::ports::{BookRepo, RentalRepo};

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
    "1e5",
    "don't",
    "Zebra",
    "zebra",
];

/// A time from microseconds since the Unix epoch.
pub fn at(micros: i64) -> DateTime<Utc> {
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

/// An active rental of `book` with an id derived from `i` (renter `ana` or `bia`).
pub fn rental_of(book: &Book, i: u64, rented_at: DateTime<Utc>, due: NaiveDate) -> Rental {
    Rental {
        id: RentalId(Uuid::from_u128(u128::from(i) * 7919 + 13)),
        book_id: book.id,
        renter: Renter::parse(if i.is_multiple_of(2) { "ana" } else { "bia" }).expect("renter"),
        rented_at,
        due_date: due,
        returned_at: None,
    }
}

/// A due date in January 2026 derived from `i`.
pub fn due(i: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1 + (i % 20) as u32).expect("date")
}

/// Book `n` (its title and synthetic ISBN), with `copies` copies and an accented
/// summary ("Ação e reação", found by a search for "reac"), created at `now`.
pub fn plain_book(n: u64, copies: i64, now: DateTime<Utc>) -> Book {
    let draft = BookDraft::builder(format!("Book {n}"), "Author", Isbn::synthetic(n).as_str())
        .year(2000)
        .copies(copies)
        .summary("Ação e reação")
        .build()
        .expect("draft");
    Book::new(BookId(Uuid::now_v7()), draft, now)
}

/// A search for `q`, first page of 10 by the default sort.
pub fn search(q: &str) -> BookQuery {
    BookQuery {
        filter: BookFilter {
            search: SearchTerms::parse(q).expect("terms"),
            ..Default::default()
        },
        sort: BookSort::default(),
        after: None,
        limit: 10,
    }
}

/// What a store must keep across closing and opening it again (a restart): a book
/// (as given, times included) and one rental of it.
pub struct Reopening {
    /// A [`plain_book`] of two copies.
    pub book: Book,
    /// Its one rental.
    pub rental: Rental,
}

impl Reopening {
    /// `book` and a rental of it started at `rented_at`.
    pub fn new(book: Book, rented_at: DateTime<Utc>) -> Self {
        let rental = rental_of(&book, 1, rented_at, due(1));
        Self { book, rental }
    }

    /// Stores the book and rents it, before the store is closed.
    pub async fn write<S: BookRepo + RentalRepo>(&self, store: &S) {
        BookRepo::insert(store, &self.book, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
        store
            .rent(&self.rental, &crate::testkit::fixtures::event())
            .await
            .expect("rent");
    }

    /// On the store opened again: both read back unchanged (the book with its copy
    /// rented), and a search finds the book.
    pub async fn assert_kept<S: BookRepo + RentalRepo>(&self, store: &S) {
        let mut expected = self.book.clone();
        expected.rented = 1;
        expected.times_rented = 1;
        assert_eq!(
            BookRepo::get(store, self.book.id).await.expect("get"),
            expected
        );
        assert_eq!(
            RentalRepo::get(store, self.rental.id).await.expect("get"),
            self.rental
        );
        assert_eq!(
            BookRepo::list(store, &search("reac"))
                .await
                .expect("search"),
            [expected]
        );
    }
}

/// Both stores hold the same books and rentals.
async fn seed(
    books: &dyn BookRepo,
    rentals: &dyn RentalRepo,
    memory: &MemoryCatalog,
    rng: &mut Rng,
) -> (Vec<Book>, Vec<Rental>) {
    let mut all_books = Vec::new();
    let mut all_rentals = Vec::new();
    for n in 0..60 {
        let book = random_book(rng, n);
        books
            .insert(&book, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
        BookRepo::insert(memory, &book, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
        for copy in 0..book.copies {
            if rng.next().is_multiple_of(2) {
                let i = n * 10 + u64::from(copy);
                // Same time for some rentals, so the id tiebreak is exercised.
                let r = rental_of(&book, i, at(1_700_000_000_000_000 + (i % 5) as i64), due(i));
                rentals
                    .rent(&r, &crate::testkit::fixtures::event())
                    .await
                    .expect("rent");
                memory
                    .rent(&r, &crate::testkit::fixtures::event())
                    .await
                    .expect("rent");
                if i % 3 == 0 {
                    let when = at(1_700_000_100_000_000);
                    rentals
                        .return_rental(r.id, when, &crate::testkit::fixtures::event())
                        .await
                        .expect("return");
                    memory
                        .return_rental(r.id, when, &crate::testkit::fixtures::event())
                        .await
                        .expect("return");
                }
                all_rentals.push(r);
            }
        }
        all_books.push(book);
    }
    (all_books, all_rentals)
}

fn filters(rng: &mut Rng) -> Vec<BookFilter> {
    let mut out = vec![BookFilter::default()];
    for _ in 0..30 {
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
    // Filters no stored book can pass.
    out.push(BookFilter {
        category: Some("romance\0".into()),
        ..BookFilter::default()
    });
    out.push(BookFilter {
        author: Some("\0".into()),
        search: SearchTerms::parse("a").expect("terms"),
        ..BookFilter::default()
    });
    // Whole words, and words Postgres' own parser would split or normalize.
    for q in [
        "日本",
        "Straße",
        "ωmega istanbul",
        "xadrez",
        "co op",
        "1e5",
        "don t",
        "zebra",
    ] {
        out.push(BookFilter {
            search: SearchTerms::parse(q).expect("terms"),
            ..BookFilter::default()
        });
    }
    out
}

/// Walks every page of a listing on both stores and compares them page by page;
/// returns how many books the listing has.
async fn compare_pages(books: &dyn BookRepo, memory: &MemoryCatalog, mut q: BookQuery) -> usize {
    let mut seen = 0;
    loop {
        let ours = books.list(&q).await.expect("list");
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

/// Seeds `books`/`rentals` (one fresh store) and the in-memory reference with the
/// same 60 random books and their rentals, then compares every listing page by page:
/// random filters (Unicode, words other parsers split, filters nothing passes),
/// every sort key in both orders, cursors of the wrong type or between stored
/// values, limit 0, and rental listings. `plans` select the adapter's query plans in
/// turn (for example by setting a threshold); every listing is compared under each.
pub async fn listings_agree(books: &dyn BookRepo, rentals: &dyn RentalRepo, plans: &[&dyn Fn()]) {
    let memory = MemoryCatalog::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (stored, rented) = seed(books, rentals, &memory, &mut rng).await;
    let keys = [
        SortKey::Title,
        SortKey::Author,
        SortKey::Year,
        SortKey::Price,
        SortKey::CreatedAt,
    ];
    let (mut searches, mut found) = (0, 0);
    let all_filters = filters(&mut rng);
    for plan in plans {
        plan();
        for filter in &all_filters {
            for key in keys {
                for order in [SortOrder::Asc, SortOrder::Desc] {
                    let q = BookQuery {
                        filter: filter.clone(),
                        sort: BookSort { key, order },
                        after: None,
                        limit: 7,
                    };
                    let n = compare_pages(books, &memory, q).await;
                    if filter.search.is_some() {
                        searches += 1;
                        found += usize::from(n > 0);
                    }
                }
            }
        }
    }
    assert!(
        found > searches / 4,
        "searches find books ({found} of {searches})"
    );
    // Cursors of the other type than the sort key, text cursors between stored
    // values, and limit 0.
    let any = stored[0].id;
    for key in keys {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for value in [
                CursorValue::Int(1995),
                CursorValue::Int(i64::MIN),
                CursorValue::Text("m".into()),
                CursorValue::Text("日".into()),
                CursorValue::Text(String::new()),
                // U+0000 cannot be stored in PostgreSQL, but a cursor can hold it.
                CursorValue::Text("sao\0x".into()),
                CursorValue::Text("\0".into()),
            ] {
                let q = BookQuery {
                    filter: BookFilter::default(),
                    sort: BookSort { key, order },
                    after: Some((value, any)),
                    limit: 100,
                };
                compare_pages(books, &memory, q.clone()).await;
                let none = BookQuery { limit: 0, ..q };
                assert!(books.list(&none).await.expect("list").is_empty());
            }
        }
    }
    compare_rentals(rentals, &memory, &stored, &rented).await;
}

async fn compare_rentals(
    store: &dyn RentalRepo,
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
                    let ours = store.list(&q).await.expect("list");
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
