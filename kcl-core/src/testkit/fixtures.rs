//! Test data builders shared by the kits, benches and seeds.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{Book, BookDraft, BookId, Isbn};
use crate::ports::{Clock, SystemClock};

/// A random tag, to keep one run's data apart from others on a shared store.
pub fn tag() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A valid ISBN no earlier call in this process returned: consecutive numbers
/// from a random start. (Independent random draws among a billion collided about
/// once in 300 runs of a kit that inserts 2,400 books, failing it on a duplicate
/// ISBN.)
pub fn random_isbn() -> Isbn {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| {
        std::sync::atomic::AtomicU64::new((Uuid::new_v4().as_u128() % 1_000_000_000) as u64)
    });
    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Isbn::synthetic(n % 1_000_000_000)
}

/// A book with the given fields and a random ISBN, created now.
pub fn book(
    title: &str,
    author: &str,
    category: &str,
    year: i64,
    price_cents: i64,
    copies: i64,
) -> Book {
    book_at(
        title,
        author,
        category,
        year,
        price_cents,
        copies,
        SystemClock.now(),
    )
}

/// Like [`book`], created at `at`.
pub fn book_at(
    title: &str,
    author: &str,
    category: &str,
    year: i64,
    price_cents: i64,
    copies: i64,
    at: DateTime<Utc>,
) -> Book {
    let draft = BookDraft::builder(title, author, random_isbn().as_str())
        .category(category)
        .year(year)
        .price_cents(price_cents)
        .copies(copies)
        .summary(format!("A book called {title}, by {author}."))
        .build()
        .expect("fixture book is valid");
    Book::new(BookId(Uuid::now_v7()), draft, at)
}

/// A new audit event (a fresh id, now) for a repository write in a kit: the kits
/// check that it is stored with the write, not what it says.
pub fn event() -> crate::domain::AuditEvent {
    crate::domain::AuditEvent {
        event_id: crate::domain::EventId(uuid::Uuid::now_v7()),
        action: crate::domain::AuditAction::Updated,
        entity: crate::domain::EntityRef::book(crate::domain::BookId(uuid::Uuid::now_v7())),
        data: serde_json::json!({"kit": true}),
        occurred_at: chrono::Utc::now(),
    }
}
