//! The [`BookRepo`] contract.

use chrono::Duration;

use super::fixtures::{book, book_at, random_isbn, tag};
use crate::domain::{
    fold, Book, BookFilter, BookId, BookQuery, BookSort, SearchTerms, SortKey, SortOrder,
};
use crate::ports::{BookRepo, BookRepoError, Clock, SystemClock};

/// Runs every book-repository case.
pub async fn run(repo: &dyn BookRepo) {
    insert_and_get(repo).await;
    duplicates_refused(repo).await;
    insert_batch(repo).await;
    optimistic_update(repo).await;
    delete(repo).await;
    list_filters(repo).await;
    list_sort_and_pages(repo).await;
    search(repo).await;
    search_follows_updates_and_deletes(repo).await;
    covers(repo).await;
}

/// `set_cover` sets, replaces, conditionally links and clears a cover without
/// touching the version; `update` keeps the cover; lists and gets show it.
pub async fn covers(repo: &dyn BookRepo) {
    use crate::domain::BookCover;
    use crate::ports::CoverSwap;
    let b = book("Capa", "Autora", "Contos", 2001, 1000, 1);
    repo.insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    // `set_cover` on `b`, linking only over the upload `if_original` when given.
    let id = b.id;
    let set = |cover: Option<BookCover>, if_original: Option<&String>| {
        let if_original = if_original.cloned();
        async move {
            let event = crate::testkit::fixtures::event();
            repo.set_cover(id, cover, if_original, Some(&event)).await
        }
    };
    let first = BookCover {
        original: format!("uploads/{}/a.jpg", b.id),
        thumbnail: None,
    };
    assert_eq!(
        set(Some(first.clone()), None).await.expect("set"),
        CoverSwap::Done { previous: None }
    );
    let got = repo.get(b.id).await.expect("get");
    assert_eq!(got.cover.as_ref(), Some(&first), "cover stored");
    assert_eq!(got.version, b.version, "a cover does not bump the version");
    // The worker links the thumbnail of the upload it processed.
    let linked = BookCover {
        thumbnail: Some(format!("thumb/{}/a.jpg", b.id)),
        ..first.clone()
    };
    assert_eq!(
        set(Some(linked.clone()), Some(&first.original))
            .await
            .expect("link"),
        CoverSwap::Done {
            previous: Some(first.clone())
        }
    );
    // A newer upload replaces it; a late worker for the old one is superseded.
    let second = BookCover {
        original: format!("uploads/{}/b.png", b.id),
        thumbnail: None,
    };
    assert_eq!(
        set(Some(second.clone()), None).await.expect("replace"),
        CoverSwap::Done {
            previous: Some(linked.clone())
        }
    );
    assert_eq!(
        set(Some(linked.clone()), Some(&first.original))
            .await
            .expect("late link"),
        CoverSwap::Superseded,
        "a late worker does not overwrite a newer upload"
    );
    // `update` keeps the stored cover whatever the caller's book says.
    let mut edited = repo.get(b.id).await.expect("get");
    edited.title = "Capa nova".into();
    edited.cover = None;
    let updated = repo
        .update(&edited, edited.version, &crate::testkit::fixtures::event())
        .await
        .expect("update");
    assert_eq!(
        updated.cover.as_ref(),
        Some(&second),
        "update keeps the cover"
    );
    assert_eq!(
        repo.get(b.id).await.expect("get").cover,
        Some(second.clone())
    );
    let listed = repo
        .list(&crate::domain::BookQuery {
            filter: crate::domain::BookFilter {
                category: Some(b.category_key()),
                author: Some(b.author_key()),
                ..Default::default()
            },
            sort: crate::domain::BookSort::default(),
            after: None,
            limit: 100,
        })
        .await
        .expect("list");
    assert!(
        listed
            .iter()
            .any(|x| x.id == b.id && x.cover == Some(second.clone())),
        "listings carry the cover"
    );
    assert_eq!(
        set(None, None).await.expect("clear"),
        CoverSwap::Done {
            previous: Some(second)
        }
    );
    assert_eq!(repo.get(b.id).await.expect("get").cover, None);
    let missing = BookId(uuid::Uuid::new_v4());
    assert!(matches!(
        repo.set_cover(
            missing,
            None,
            None,
            Some(&crate::testkit::fixtures::event())
        )
        .await,
        Err(BookRepoError::NotFound(_))
    ));
    repo.delete(b.id, None, &crate::testkit::fixtures::event())
        .await
        .expect("delete");
}

/// A stored book reads back equal; a missing one is `NotFound`.
pub async fn insert_and_get(repo: &dyn BookRepo) {
    let b = book("Dom Casmurro", "Machado de Assis", "Romance", 1899, 3990, 2);
    repo.insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let got = repo.get(b.id).await.expect("get");
    assert_eq!(got, b, "a stored book must read back unchanged");
    let missing = BookId(uuid::Uuid::new_v4());
    assert!(
        matches!(repo.get(missing).await, Err(BookRepoError::NotFound(id)) if id == missing),
        "get of an unknown id must be NotFound"
    );
}

/// Same id or same ISBN twice is refused.
pub async fn duplicates_refused(repo: &dyn BookRepo) {
    let a = book("A", "X", "Cat", 2000, 100, 1);
    repo.insert(&a, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let mut same_isbn = book("B", "Y", "Cat", 2001, 100, 1);
    same_isbn.isbn = a.isbn.clone();
    assert!(
        matches!(
            repo.insert(&same_isbn, &crate::testkit::fixtures::event())
                .await,
            Err(BookRepoError::DuplicateIsbn(_))
        ),
        "a second book with the same ISBN must be DuplicateIsbn"
    );
    let mut same_id = book("C", "Z", "Cat", 2002, 100, 1);
    same_id.id = a.id;
    assert!(
        matches!(
            repo.insert(&same_id, &crate::testkit::fixtures::event())
                .await,
            Err(BookRepoError::DuplicateId(_)) | Err(BookRepoError::DuplicateIsbn(_))
        ),
        "a second book with the same id must be refused"
    );
}

/// A batch stores its books at once, searchable like single inserts; a book whose
/// ISBN or id is taken (stored before, or earlier in the batch) is skipped and
/// reported by position; an oversized batch stores nothing.
pub async fn insert_batch(repo: &dyn BookRepo) {
    use crate::ports::MAX_INSERT_BATCH;
    let t = tag();
    let cat = format!("Batch {t}");
    let stored = book(&format!("Stored {t}"), "X", &cat, 2000, 100, 1);
    repo.insert(&stored, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let mut books: Vec<Book> = (0..5)
        .map(|i| book(&format!("Lote {t} {i}"), "Autora", &cat, 2001 + i, 100, 2))
        .collect();
    books[1].isbn = stored.isbn.clone();
    books[3].isbn = books[2].isbn.clone();
    books[4].id = stored.id;
    let batch: Vec<_> = books
        .iter()
        .map(|b| (b.clone(), crate::testkit::fixtures::event()))
        .collect();
    let skipped = repo.insert_batch(&batch).await.expect("insert_batch");
    assert_eq!(
        skipped,
        [1, 3, 4],
        "books whose ISBN or id is taken are skipped, by position"
    );
    for i in [0, 2] {
        assert_eq!(repo.get(books[i].id).await.expect("get"), books[i]);
    }
    assert_eq!(
        repo.get(stored.id).await.expect("get").title,
        stored.title,
        "a skipped book changes nothing stored"
    );
    let terms = SearchTerms::parse(&format!("lote {t}"))
        .expect("query")
        .expect("terms");
    let search = query(
        BookFilter {
            search: Some(terms),
            ..Default::default()
        },
        BookSort::default(),
        100,
    );
    let found = repo.list(&search).await.expect("search");
    assert_eq!(
        titles(&found),
        [books[0].title.as_str(), books[2].title.as_str()],
        "batch-inserted books are searchable"
    );
    // The index put back in shape after an import finds the same books.
    repo.compact_search().await.expect("compact_search");
    assert_eq!(
        titles(&repo.list(&search).await.expect("search")),
        [books[0].title.as_str(), books[2].title.as_str()],
        "a compacted search index finds the same books"
    );
    assert_eq!(
        repo.insert_batch(&[]).await.expect("an empty batch"),
        Vec::<usize>::new()
    );
    let too_many: Vec<_> = (0..=MAX_INSERT_BATCH as i64)
        .map(|i| {
            (
                book(&format!("Excess {t} {i}"), "X", &cat, 2000, 100, 1),
                crate::testkit::fixtures::event(),
            )
        })
        .collect();
    assert!(
        matches!(
            repo.insert_batch(&too_many).await,
            Err(BookRepoError::InvalidInput(_))
        ),
        "a batch over the limit is refused"
    );
    assert!(
        matches!(
            repo.get(too_many[0].0.id).await,
            Err(BookRepoError::NotFound(_))
        ),
        "a refused batch stores nothing"
    );
}

/// Updates apply at the expected version only, bump it, and keep ISBNs unique.
pub async fn optimistic_update(repo: &dyn BookRepo) {
    let b = book("Old title", "X", "Cat", 2000, 100, 1);
    repo.insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let mut next = b.clone();
    next.title = "New title".into();
    next.version = 2;
    next.updated_at = b.updated_at + Duration::seconds(1);
    let stored = repo
        .update(&next, 1, &crate::testkit::fixtures::event())
        .await
        .expect("update at the right version");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.title, "New title");
    assert_eq!(repo.get(b.id).await.expect("get").title, "New title");
    let stale = repo
        .update(&next, 1, &crate::testkit::fixtures::event())
        .await;
    assert!(
        matches!(
            stale,
            Err(BookRepoError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "an update at a stale version must be VersionConflict, got {stale:?}"
    );
    let other = book("Other", "X", "Cat", 2000, 100, 1);
    repo.insert(&other, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    let mut clash = stored.clone();
    clash.isbn = other.isbn.clone();
    clash.version = 3;
    assert!(
        matches!(
            repo.update(&clash, 2, &crate::testkit::fixtures::event())
                .await,
            Err(BookRepoError::DuplicateIsbn(_))
        ),
        "an update to another book's ISBN must be DuplicateIsbn"
    );
    let mut missing = next.clone();
    missing.id = BookId(uuid::Uuid::new_v4());
    assert!(matches!(
        repo.update(&missing, 1, &crate::testkit::fixtures::event())
            .await,
        Err(BookRepoError::NotFound(_))
    ));
    let mut new_isbn = stored.clone();
    new_isbn.isbn = random_isbn();
    new_isbn.version = 3;
    repo.update(&new_isbn, 2, &crate::testkit::fixtures::event())
        .await
        .expect("changing the ISBN");
    let mut reuse = book("Reuse", "X", "Cat", 2000, 100, 1);
    reuse.isbn = b.isbn.clone();
    repo.insert(&reuse, &crate::testkit::fixtures::event())
        .await
        .expect("the old ISBN is free again after a change");
}

/// Delete returns the book, honours the version, and a second delete is NotFound.
pub async fn delete(repo: &dyn BookRepo) {
    let b = book("Gone", "X", "Cat", 2000, 100, 1);
    repo.insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    assert!(matches!(
        repo.delete(b.id, Some(7), &crate::testkit::fixtures::event())
            .await,
        Err(BookRepoError::VersionConflict { .. })
    ));
    let gone = repo
        .delete(b.id, Some(1), &crate::testkit::fixtures::event())
        .await
        .expect("delete");
    assert_eq!(gone.id, b.id);
    assert!(matches!(
        repo.get(b.id).await,
        Err(BookRepoError::NotFound(_))
    ));
    assert!(matches!(
        repo.delete(b.id, None, &crate::testkit::fixtures::event())
            .await,
        Err(BookRepoError::NotFound(_))
    ));
    let mut again = book("Again", "X", "Cat", 2000, 100, 1);
    again.isbn = b.isbn.clone();
    repo.insert(&again, &crate::testkit::fixtures::event())
        .await
        .expect("a deleted book's ISBN is free");
}

fn query(filter: BookFilter, sort: BookSort, limit: u32) -> BookQuery {
    BookQuery {
        filter,
        sort,
        after: None,
        limit,
    }
}

fn titles(books: &[Book]) -> Vec<String> {
    books.iter().map(|b| b.title.clone()).collect()
}

/// Category, author, year range and availability filters.
pub async fn list_filters(repo: &dyn BookRepo) {
    let cat = format!("Cat {}", tag());
    let author = format!("Autor Ção {}", tag());
    let books = [
        book("F1", &author, &cat, 1990, 100, 1),
        book("F2", &author, &cat, 2000, 100, 0),
        book("F3", "Someone Else", &cat, 2010, 100, 3),
    ];
    for b in &books {
        repo.insert(b, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
    }
    let by_cat = BookFilter {
        category: Some(fold(&cat.to_uppercase())),
        ..Default::default()
    };
    let all = repo
        .list(&query(by_cat.clone(), BookSort::default(), 100))
        .await
        .expect("list");
    assert_eq!(
        titles(&all),
        ["F1", "F2", "F3"],
        "category filter is case-insensitive equality"
    );
    let by_author = BookFilter {
        author: Some(fold(&author)),
        ..by_cat.clone()
    };
    let got = repo
        .list(&query(by_author, BookSort::default(), 100))
        .await
        .expect("list");
    assert_eq!(
        titles(&got),
        ["F1", "F2"],
        "author filter (accent-insensitive)"
    );
    let years = BookFilter {
        year_from: Some(2000),
        year_to: Some(2010),
        ..by_cat.clone()
    };
    let got = repo
        .list(&query(years, BookSort::default(), 100))
        .await
        .expect("list");
    assert_eq!(titles(&got), ["F2", "F3"], "year range is inclusive");
    let available = BookFilter {
        available_only: true,
        ..by_cat.clone()
    };
    let got = repo
        .list(&query(available, BookSort::default(), 100))
        .await
        .expect("list");
    assert_eq!(
        titles(&got),
        ["F1", "F3"],
        "available_only drops books with no free copy"
    );
}

/// Every sort key in both orders, ties broken by id, walked page by page.
pub async fn list_sort_and_pages(repo: &dyn BookRepo) {
    let cat = format!("Sort {}", tag());
    let t0 = SystemClock.now();
    let mut books = Vec::new();
    for i in 0..7i64 {
        // Repeated values make ties, so the id tiebreak is exercised.
        let b = book_at(
            &format!("Título {}", (b'a' + (i % 4) as u8) as char),
            &format!("Author {}", 3 - i % 3),
            &cat,
            2000 + i % 3,
            100 * (i % 2),
            1,
            t0 + Duration::milliseconds(i),
        );
        repo.insert(&b, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
        books.push(b);
    }
    let filter = BookFilter {
        category: Some(fold(&cat)),
        ..Default::default()
    };
    for key in [
        SortKey::Title,
        SortKey::Author,
        SortKey::Year,
        SortKey::Price,
        SortKey::CreatedAt,
    ] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let sort = BookSort { key, order };
            let mut expected: Vec<_> = books.iter().map(|b| (sort.value_of(b), b.id)).collect();
            expected.sort();
            if order == SortOrder::Desc {
                expected.reverse();
            }
            let expected: Vec<BookId> = expected.into_iter().map(|(_, id)| id).collect();
            let mut seen = Vec::new();
            let mut q = query(filter.clone(), sort, 3);
            loop {
                let page = repo.list(&q).await.expect("list");
                assert!(page.len() <= 3, "list must honour the limit");
                seen.extend(page.iter().map(|b| b.id));
                match page.last() {
                    Some(last) if page.len() == 3 => q.after = Some((sort.value_of(last), last.id)),
                    _ => break,
                }
            }
            assert_eq!(seen, expected, "order and keyset pages for sort {sort}");
        }
    }
}

/// Word-prefix, accent-insensitive AND search over title, author and summary.
pub async fn search(repo: &dyn BookRepo) {
    let t = tag();
    let cat = format!("Search {t}");
    let a = book(
        &format!("Memórias Póstumas {t}"),
        "Machado de Assis",
        &cat,
        1881,
        100,
        1,
    );
    let b = book(
        &format!("O Cortiço {t}"),
        "Aluísio Azevedo",
        &cat,
        1890,
        100,
        1,
    );
    let mut c = book(&format!("Plain {t}"), "Nobody", &cat, 1900, 100, 1);
    c.summary = "A story about a cortico and memories".into();
    for x in [&a, &b, &c] {
        repo.insert(x, &crate::testkit::fixtures::event())
            .await
            .expect("insert");
    }
    let find = |q: &str| {
        let terms = SearchTerms::parse(q).expect("query").expect("terms");
        query(
            BookFilter {
                search: Some(terms),
                category: Some(fold(&cat)),
                ..Default::default()
            },
            BookSort::default(),
            100,
        )
    };
    let got = repo.list(&find("memorias")).await.expect("search");
    assert_eq!(titles(&got), [a.title.as_str()], "accent-insensitive match");
    let got = repo.list(&find("CORTI")).await.expect("search");
    assert_eq!(
        titles(&got),
        [b.title.as_str(), c.title.as_str()],
        "prefix match in title and summary"
    );
    let got = repo.list(&find("machado póst")).await.expect("search");
    assert_eq!(
        titles(&got),
        [a.title.as_str()],
        "all terms must match (author + title)"
    );
    let got = repo.list(&find("machado cortiço")).await.expect("search");
    assert!(got.is_empty(), "terms are ANDed");
    let got = repo
        .list(&find(&format!("{t} \"\" * OR NEAR")))
        .await
        .expect("search with operators");
    assert!(
        got.is_empty(),
        "query syntax characters are plain text, not operators"
    );
}

/// The search follows a book's updates and delete (its old words go, its new words
/// come), splits words as [`crate::domain::words`] does and matches prefixes byte for
/// byte, lets no query syntax through, and agrees with the reference
/// ([`SearchTerms::matches`]).
pub async fn search_follows_updates_and_deletes(repo: &dyn BookRepo) {
    let cat = format!("Search updates {}", tag());
    let find = |q: &str| {
        query(
            BookFilter {
                search: SearchTerms::parse(q).expect("terms"),
                category: Some(fold(&cat)),
                ..Default::default()
            },
            BookSort::default(),
            10,
        )
    };
    let hits = |q: String| {
        let q = find(&q);
        async move { repo.list(&q).await.expect("list").len() }
    };
    let b = book("Vidas Secas", "Graciliano Ramos", &cat, 1938, 100, 1);
    repo.insert(&b, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    assert_eq!(hits("vid sec".into()).await, 1);
    let mut next = b.clone();
    next.title = "Angústia".into();
    next.summary = String::new();
    repo.update(&next, 1, &crate::testkit::fixtures::event())
        .await
        .expect("update");
    assert_eq!(hits("vidas".into()).await, 0, "old words gone");
    assert_eq!(hits("angust".into()).await, 1, "new words found");
    repo.delete(b.id, Some(2), &crate::testkit::fixtures::event())
        .await
        .expect("delete");
    assert_eq!(
        hits("angust".into()).await,
        0,
        "deleted books are not found"
    );
    let mut odd = book("ſtar x86 日本 co-op", "Author", &cat, 2000, 100, 1);
    odd.summary = "日".repeat(2000);
    repo.insert(&odd, &crate::testkit::fixtures::event())
        .await
        .expect("insert");
    for (q, expected) in [
        ("s".to_owned(), 0),
        ("ſ".to_owned(), 1),
        ("ſt".to_owned(), 1),
        ("x8".to_owned(), 1),
        ("86".to_owned(), 0),
        ("日".to_owned(), 1),
        ("本".to_owned(), 0),
        ("co op".to_owned(), 1),
        ("' | !ſtar & x86".to_owned(), 1),
        ("star:* | b".to_owned(), 0),
        ("日".repeat(200), 1),
    ] {
        assert_eq!(hits(q.clone()).await, expected, "{q:?}");
        let terms = SearchTerms::parse(&q).expect("terms").expect("words");
        assert_eq!(
            usize::from(terms.matches(&odd.search_document())),
            expected,
            "the reference agrees on {q:?}"
        );
    }
}

/// Searches whose pages lie past a bounded walk of the sort index (adapters that
/// walk a few thousand rows before giving up on a dense plan): 2,400 books, a dense
/// term (`comum`) on every third and a rare one (`raro`) on two near the end; every
/// page of both, followed by cursor, agrees with the books' own order. The terms
/// are short (prefix-indexed where that matters) and fixed: run it on a store of its
/// own, with the adapter's sort-index threshold low, so dense plans are chosen.
pub async fn searches_past_a_walk(repo: &dyn BookRepo) {
    use crate::domain::CursorValue;
    let t = tag();
    let books: Vec<Book> = (0..2400)
        .map(|i| {
            let mut words = vec![format!("walk{t}"), format!("n{i:04}")];
            if i % 3 == 0 {
                words.push("comum".to_owned());
            }
            if i == 2310 || i == 2390 {
                words.push("raro".to_owned());
            }
            book(&words.join(" "), "Autora", "Walk", 2000, 100, 1)
        })
        .collect();
    for chunk in books.chunks(crate::ports::MAX_INSERT_BATCH) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|b| (b.clone(), crate::testkit::fixtures::event()))
            .collect();
        assert_eq!(
            repo.insert_batch(&batch).await.expect("insert_batch"),
            Vec::<usize>::new()
        );
    }
    for (term, every) in [("comum", 3usize), ("raro", 0)] {
        let mut matching: Vec<&Book> = books
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                if every > 0 {
                    i % every == 0
                } else {
                    *i == 2310 || *i == 2390
                }
            })
            .map(|(_, b)| b)
            .collect();
        matching.sort_by_key(|b| (b.title_key(), b.id));
        let want: Vec<&str> = matching.iter().map(|b| b.title.as_str()).collect();
        let terms = SearchTerms::parse(term).expect("query").expect("terms");
        let mut got: Vec<String> = Vec::new();
        let mut after: Option<(CursorValue, BookId)> = None;
        loop {
            let q = BookQuery {
                filter: BookFilter {
                    search: Some(terms.clone()),
                    ..Default::default()
                },
                sort: BookSort::default(),
                after: after.clone(),
                limit: 21,
            };
            let page = repo.list(&q).await.expect("search");
            got.extend(page.iter().take(20).map(|b| b.title.clone()));
            if page.len() <= 20 {
                break;
            }
            let last = &page[19];
            after = Some((q.sort.value_of(last), last.id));
        }
        assert_eq!(got, want, "every page of {term:?}, in order");
    }
}
