//! The [`RentalRepo`] contract, on a store that also holds the books.

use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::book;
use crate::domain::{
    fold, BookFilter, BookId, BookQuery, BookSort, Rental, RentalId, RentalQuery,
    RentalStatusFilter, Renter, SortKey, SortOrder,
};
use crate::ports::{BookRepo, BookRepoError, Clock, RentalRepo, RentalRepoError, SystemClock};

/// Runs every rental case. `books` and `rentals` must share one store.
pub async fn run(books: Arc<dyn BookRepo>, rentals: Arc<dyn RentalRepo>) {
    rent_and_return(books.as_ref(), rentals.as_ref()).await;
    rented_books_are_protected(books.as_ref(), rentals.as_ref()).await;
    list_filters_and_pages(books.as_ref(), rentals.as_ref()).await;
    most_rented_order_and_counts(books.as_ref(), rentals.as_ref()).await;
    concurrent_rentals_never_overbook(books.as_ref(), &[rentals.clone(), rentals], 5, 1, 40).await;
}

/// A new active rental of `book_id`, rented `days_ago` days ago, due in `due_in` days.
pub fn rental(book_id: BookId, renter: &str, days_ago: i64, due_in: i64) -> Rental {
    let now = SystemClock.now();
    let rented_at = now - Duration::days(days_ago);
    Rental {
        id: RentalId(Uuid::now_v7()),
        book_id,
        renter: Renter::parse(renter).expect("renter"),
        rented_at,
        due_date: (now + Duration::days(due_in)).date_naive(),
        returned_at: None,
    }
}

/// Rent until no copy is left, return (twice), rent again.
pub async fn rent_and_return(books: &dyn BookRepo, rentals: &dyn RentalRepo) {
    let b = book("Rentable", "X", "Cat", 2000, 100, 2);
    books
        .insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let r1 = rental(b.id, "ana", 0, 14);
    let r2 = rental(b.id, "bia", 0, 14);
    rentals
        .rent(&r1, &crate::testkit::fixtures::event())
        .await
        .expect("first copy");
    rentals
        .rent(&r2, &crate::testkit::fixtures::event())
        .await
        .expect("second copy");
    assert_eq!(
        rentals.get(r1.id).await.expect("get"),
        r1,
        "a rental reads back unchanged"
    );
    assert_eq!(
        books.get(b.id).await.expect("book").rented,
        2,
        "rented follows rentals"
    );
    let r3 = rental(b.id, "caio", 0, 14);
    assert!(
        matches!(rentals.rent(&r3, &crate::testkit::fixtures::event()).await, Err(RentalRepoError::NoCopyAvailable(id)) if id == b.id),
        "a third rental of a two-copy book must be NoCopyAvailable"
    );
    let unknown = rental(BookId(Uuid::new_v4()), "ana", 0, 14);
    assert!(matches!(
        rentals
            .rent(&unknown, &crate::testkit::fixtures::event())
            .await,
        Err(RentalRepoError::BookNotFound(_))
    ));
    assert!(matches!(
        rentals.rent(&r1, &crate::testkit::fixtures::event()).await,
        Err(RentalRepoError::DuplicateId(_)) | Err(RentalRepoError::NoCopyAvailable(_))
    ));

    let at = SystemClock.now();
    let first = rentals
        .return_rental(r1.id, at, &crate::testkit::fixtures::event())
        .await
        .expect("return");
    assert!(first.changed);
    assert_eq!(first.rental.returned_at, Some(at));
    let again = rentals
        .return_rental(
            r1.id,
            at + Duration::hours(1),
            &crate::testkit::fixtures::event(),
        )
        .await
        .expect("return twice");
    assert!(!again.changed, "returning twice changes nothing");
    assert_eq!(
        again.rental, first.rental,
        "returning twice gives the same rental"
    );
    assert_eq!(
        books.get(b.id).await.expect("book").rented,
        1,
        "a second return frees nothing"
    );
    rentals
        .rent(&r3, &crate::testkit::fixtures::event())
        .await
        .expect("the returned copy is free again");
    assert!(matches!(
        rentals
            .return_rental(
                RentalId(Uuid::new_v4()),
                at,
                &crate::testkit::fixtures::event()
            )
            .await,
        Err(RentalRepoError::NotFound(_))
    ));
}

/// A book with copies out cannot be deleted nor have its copies cut below them.
pub async fn rented_books_are_protected(books: &dyn BookRepo, rentals: &dyn RentalRepo) {
    let b = book("Busy", "X", "Cat", 2000, 100, 2);
    books
        .insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let r = rental(b.id, "ana", 0, 14);
    rentals
        .rent(&r, &crate::testkit::fixtures::event())
        .await
        .expect("rent");
    assert!(
        matches!(
            books
                .delete(b.id, None, &crate::testkit::fixtures::event())
                .await,
            Err(BookRepoError::Rented { rented: 1, .. })
        ),
        "deleting a rented book must be refused"
    );
    let mut fewer = books.get(b.id).await.expect("get");
    fewer.copies = 0;
    fewer.version = 2;
    assert!(
        matches!(
            books
                .update(&fewer, 1, &crate::testkit::fixtures::event())
                .await,
            Err(BookRepoError::Rented { .. })
        ),
        "copies below the rented count must be refused"
    );
    fewer.copies = 1;
    let stored = books
        .update(&fewer, 1, &crate::testkit::fixtures::event())
        .await
        .expect("copies equal to rented are fine");
    assert_eq!(
        (stored.copies, stored.rented),
        (1, 1),
        "update keeps the rented count"
    );
    rentals
        .return_rental(r.id, SystemClock.now(), &crate::testkit::fixtures::event())
        .await
        .expect("return");
    books
        .delete(b.id, None, &crate::testkit::fixtures::event())
        .await
        .expect("delete once returned");
    let history = rentals.get(r.id).await.expect("rentals outlive their book");
    assert_eq!(history.book_id, b.id);
}

/// Book, renter and status filters; newest first; keyset pages.
pub async fn list_filters_and_pages(books: &dyn BookRepo, rentals: &dyn RentalRepo) {
    let b = book("Listed", "X", "Cat", 2000, 100, 10);
    books
        .insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let renter = format!("renter-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let overdue = rental(b.id, &renter, 30, -2);
    let active = rental(b.id, &renter, 2, 12);
    let returned = rental(b.id, &renter, 10, 4);
    let other = rental(b.id, "someone-else", 1, 13);
    for r in [&overdue, &active, &returned, &other] {
        rentals
            .rent(r, &crate::testkit::fixtures::event())
            .await
            .expect("rent");
    }
    rentals
        .return_rental(
            returned.id,
            SystemClock.now(),
            &crate::testkit::fixtures::event(),
        )
        .await
        .expect("return");
    let today = SystemClock.now().date_naive();
    let q = |status| RentalQuery {
        book_id: Some(b.id),
        renter: Some(Renter::parse(&renter).expect("renter")),
        status,
        today,
        after: None,
        limit: 100,
    };
    let ids = |rs: Vec<Rental>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = ids(rentals.list(&q(None)).await.expect("list"));
    assert_eq!(
        all,
        [active.id, returned.id, overdue.id],
        "newest first, renter filter"
    );
    let got = ids(rentals
        .list(&q(Some(RentalStatusFilter::Active)))
        .await
        .expect("list"));
    assert_eq!(got, [active.id, overdue.id], "active = not returned");
    let got = ids(rentals
        .list(&q(Some(RentalStatusFilter::Returned)))
        .await
        .expect("list"));
    assert_eq!(got, [returned.id]);
    let got = ids(rentals
        .list(&q(Some(RentalStatusFilter::Overdue)))
        .await
        .expect("list"));
    assert_eq!(got, [overdue.id], "overdue = not returned and past due");
    let mut page = q(None);
    page.book_id = Some(b.id);
    page.renter = None;
    page.limit = 2;
    let first = rentals.list(&page).await.expect("page 1");
    assert_eq!(ids(first.clone()), [other.id, active.id]);
    let last = first.last().expect("a row");
    page.after = Some((last.rented_at, last.id));
    let second = ids(rentals.list(&page).await.expect("page 2"));
    assert_eq!(second, [returned.id, overdue.id]);
}

/// `tasks` tasks rent one `copies`-copy book at once, spread over `handles` (one
/// store, or several handles on one database standing for several processes),
/// after `taken` copies were rented: exactly the free copies are rented, the rest
/// get `NoCopyAvailable`, and the stored count agrees. Returns the book as stored.
pub async fn concurrent_rentals_never_overbook(
    books: &dyn BookRepo,
    handles: &[Arc<dyn RentalRepo>],
    copies: u32,
    taken: u32,
    tasks: usize,
) -> crate::domain::Book {
    assert!(!handles.is_empty() && taken <= copies, "kit misuse");
    let b = book("Hot", "X", "Cat", 2000, 100, copies as i64);
    books
        .insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let last = &handles[handles.len() - 1];
    for i in 0..taken {
        last.rent(
            &rental(b.id, &format!("early{i}"), 0, 14),
            &crate::testkit::fixtures::event(),
        )
        .await
        .expect("a copy is free");
    }
    let mut joins = Vec::new();
    for i in 0..tasks {
        let rentals = handles[i % handles.len()].clone();
        let id = b.id;
        joins.push(tokio::spawn(async move {
            rentals
                .rent(
                    &rental(id, &format!("r{i}"), 0, 14),
                    &crate::testkit::fixtures::event(),
                )
                .await
        }));
    }
    let mut ok = 0;
    for j in joins {
        match j.await.expect("task") {
            Ok(()) => ok += 1,
            Err(RentalRepoError::NoCopyAvailable(_)) => {}
            Err(e) => panic!("a concurrent rental failed with {e:?}, not NoCopyAvailable"),
        }
    }
    assert_eq!(
        ok,
        (copies - taken) as usize,
        "exactly the free copies are rented by concurrent rentals"
    );
    let stored = books.get(b.id).await.expect("book");
    assert_eq!(
        (stored.rented, stored.copies),
        (copies, copies),
        "the stored count matches"
    );
    let active = handles[0]
        .list(&RentalQuery {
            book_id: Some(b.id),
            renter: None,
            status: Some(RentalStatusFilter::Active),
            today: SystemClock.now().date_naive(),
            after: None,
            limit: 1000,
        })
        .await
        .expect("list");
    assert_eq!(
        active.len(),
        copies as usize,
        "active rentals never exceed copies"
    );
    stored
}

/// Each rental counts once for good (a return does not take it back): `-rentals`
/// lists the most rented first, ties by id, in pages; counts stop at their cap.
pub async fn most_rented_order_and_counts(books: &dyn BookRepo, rentals: &dyn RentalRepo) {
    let cat = format!("Rank {}", Uuid::new_v4().simple());
    let titles = ["Once", "Thrice", "Never", "Twice"];
    let mut ids = Vec::new();
    for (t, n) in titles.iter().zip([1, 3, 0, 2]) {
        let b = book(t, "X", &cat, 2000, 100, 1);
        books
            .insert(&b, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
        for _ in 0..n {
            // One copy: rent, return, rent again.
            let r = rental(b.id, "ana", 0, 14);
            rentals
                .rent(&r, &crate::testkit::fixtures::event())
                .await
                .expect("rent");
            rentals
                .return_rental(r.id, SystemClock.now(), &crate::testkit::fixtures::event())
                .await
                .expect("return");
        }
        ids.push(b.id);
    }
    assert_eq!(books.get(ids[1]).await.expect("book").times_rented, 3);
    let filter = BookFilter {
        category: Some(fold(&cat)),
        ..Default::default()
    };
    let most = BookSort {
        key: SortKey::Rentals,
        order: SortOrder::Desc,
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = books
            .list(&BookQuery {
                filter: filter.clone(),
                sort: most,
                after: after.clone(),
                limit: 3,
            })
            .await
            .expect("list by rentals");
        let Some(last) = page.last() else { break };
        after = Some((most.value_of(last), last.id));
        seen.extend(page.iter().map(|b| b.title.clone()));
    }
    assert_eq!(
        seen,
        ["Thrice", "Twice", "Once", "Never"],
        "most rented first"
    );
    assert_eq!(books.count(&filter, 1000).await.expect("count"), 4);
    assert_eq!(books.count(&filter, 2).await.expect("capped count"), 2);
    let none = BookFilter {
        year_from: Some(3000),
        ..filter.clone()
    };
    assert_eq!(books.count(&none, 1000).await.expect("count"), 0);
}
