//! The HTTP API end to end, in-process, on every backend: each check runs on the
//! in-memory adapters, on the embedded SQLite profile and, with the `aws` feature,
//! on PostgreSQL (`KCL_TEST_POSTGRES_URL`; skipped when unset unless
//! `KCL_TEST_REQUIRE_ALL=1`).
#![cfg(all(feature = "http", feature = "local"))]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kcl::http::router;
use kcl_core::memory::MemoryBackend;
use kcl_core::ports::HealthProbe;
use serde_json::{json, Value};

#[path = "support/app.rs"]
mod app;
use app::{Reply, TestApp};

fn memory_app() -> TestApp {
    TestApp::new(router(MemoryBackend::new().services()))
}

#[cfg(feature = "aws")]
use kcl_aws::testkit::TestDatabase;

#[cfg(feature = "aws")]
async fn postgres_app() -> Option<(TestApp, kcl::Kcl, TestDatabase)> {
    let db = TestDatabase::create().await?;
    let vars =
        std::collections::HashMap::from([("KCL_DATABASE_URL".to_owned(), db.url().to_owned())]);
    let kcl = kcl::Kcl::open(&kcl::Config::from_vars(&vars).unwrap())
        .await
        .unwrap();
    Some((TestApp::new(router(kcl.services.clone())), kcl, db))
}

/// Runs each named check once per backend.
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$check(&super::memory_app()).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (kcl, app, _dir) = super::TestApp::open(true, &[]).await;
                    super::$check(&app).await;
                    kcl.close().await;
                }
                #[cfg(feature = "aws")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some((app, kcl, db)) = super::postgres_app().await else {
                        return;
                    };
                    super::$check(&app).await;
                    kcl.close().await;
                    db.drop_now().await;
                }
            }
        )*
    };
}

on_every_backend!(
    book_lifecycle,
    rentals_never_exceed_copies_and_return_is_idempotent,
    listing_filters_sorts_and_pages,
    bad_input_gets_4xx_problems_never_500,
    web_ui_creates_edits_rents_returns_and_deletes,
    web_forms_posted_from_another_site_are_refused,
    out_of_range_versions_are_invalid_not_conflicts,
    books_import_whole_or_not_at_all,
    audit_searches_across_entities,
);

fn book_json(isbn: &str, copies: i64) -> Value {
    json!({
        "title": "Dom Casmurro", "author": "Machado de Assis", "isbn": isbn,
        "category": "Romance", "year": 1899, "price_cents": 3990, "copies": copies,
        "summary": "Bentinho and Capitu."
    })
}

/// Creates a book and returns its id.
async fn create_book(app: &TestApp, book: Value) -> String {
    let created = app.call(Method::POST, "/api/books", Some(book)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["id"].as_str().expect("an id").to_owned()
}

fn in_a_week() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string()
}

const ISBN: &str = "978-85-359-1066-7";

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert_eq!(r.body["status"], status);
}

async fn book_lifecycle(app: &TestApp) {
    let created = app
        .call(Method::POST, "/api/books", Some(book_json(ISBN, 1)))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.location.as_deref(),
        Some(&*format!("/api/books/{id}"))
    );
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["isbn"], "9788535910667");
    assert_eq!(created.body["price"], "39.90");
    assert_eq!(created.body["available"], 1);

    let got = app.get(&format!("/api/books/{id}")).await;
    assert_eq!(got.body, created.body);

    let mut update = book_json(ISBN, 3);
    update["version"] = json!(1);
    update["title"] = json!("Dom Casmurro (2a ed.)");
    let updated = app
        .call(
            Method::PUT,
            &format!("/api/books/{id}"),
            Some(update.clone()),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    let stale = app
        .call(Method::PUT, &format!("/api/books/{id}"), Some(update))
        .await;
    assert_problem(&stale, 409, "version-conflict");

    let dup = app
        .call(Method::POST, "/api/books", Some(book_json(ISBN, 1)))
        .await;
    assert_problem(&dup, 409, "duplicate-isbn");

    let rent = app
        .call(
            Method::POST,
            "/api/rentals",
            Some(json!({"book_id": id, "renter": "ana"})),
        )
        .await;
    assert_eq!(rent.status, StatusCode::CREATED, "{}", rent.text);
    let refused = app
        .call(Method::DELETE, &format!("/api/books/{id}"), None)
        .await;
    assert_problem(&refused, 409, "book-rented");
    let rid = rent.body["id"].as_str().unwrap();
    app.call(Method::POST, &format!("/api/rentals/{rid}/return"), None)
        .await;

    let stale_delete = app
        .call(Method::DELETE, &format!("/api/books/{id}?version=1"), None)
        .await;
    assert_problem(&stale_delete, 409, "version-conflict");
    let deleted = app
        .call(Method::DELETE, &format!("/api/books/{id}?version=2"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app.get(&format!("/api/books/{id}")).await;
    assert_problem(&gone, 404, "not-found");

    let audit = app
        .get(&format!("/api/audit?entity_type=book&entity_id={id}"))
        .await;
    let actions: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["created", "updated", "rented", "returned", "deleted"]
    );
    let first = &audit.body["items"][0];
    assert_eq!(first["entity_type"], "book");
    assert_eq!(first["entity_id"], id);
    assert!(first["event_id"].is_string() && first["occurred_at"].as_str().unwrap().ends_with('Z'));
}

async fn rentals_never_exceed_copies_and_return_is_idempotent(app: &TestApp) {
    let id = &create_book(app, book_json(ISBN, 2)).await;
    let mut ok = 0;
    for i in 0..5 {
        let r = app
            .call(
                Method::POST,
                "/api/rentals",
                Some(json!({"book_id": id, "renter": format!("r{i}"), "due_date": in_a_week()})),
            )
            .await;
        match r.status.as_u16() {
            201 => ok += 1,
            409 => assert_problem(&r, 409, "no-copy-available"),
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(ok, 2);
    let unknown = app
        .call(
            Method::POST,
            "/api/rentals",
            Some(json!({"book_id": uuid::Uuid::new_v4(), "renter": "x"})),
        )
        .await;
    assert_problem(&unknown, 404, "not-found");

    let list = app
        .get(&format!("/api/rentals?book_id={id}&status=active&limit=1"))
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let cursor = list.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/api/rentals?book_id={id}&status=active&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_cursor"].is_null());

    let rid = list.body["items"][0]["id"].as_str().unwrap();
    let first = app
        .call(Method::POST, &format!("/api/rentals/{rid}/return"), None)
        .await;
    let second = app
        .call(Method::POST, &format!("/api/rentals/{rid}/return"), None)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.body, second.body,
        "returning twice gives the same rental"
    );
    assert_eq!(first.body["status"], "returned");
    let book = app.get(&format!("/api/books/{id}")).await;
    assert_eq!(book.body["available"], 1);
}

async fn listing_filters_sorts_and_pages(app: &TestApp) {
    for (i, (cat, year)) in [("Poesia", 1990), ("Romance", 2000), ("romance", 2010)]
        .iter()
        .enumerate()
    {
        let mut b = book_json(kcl_core::domain::Isbn::synthetic(i as u64).as_str(), 1);
        b["category"] = json!(cat);
        b["year"] = json!(year);
        b["title"] = json!(format!("Livro {i}"));
        assert_eq!(
            app.call(Method::POST, "/api/books", Some(b)).await.status,
            StatusCode::CREATED
        );
    }
    let r = app
        .get("/api/books?category=ROMANCE&sort=-year&limit=1")
        .await;
    assert_eq!(r.body["items"][0]["year"], 2010);
    let c = r.body["next_cursor"].as_str().unwrap();
    let r2 = app
        .get(&format!(
            "/api/books?category=ROMANCE&sort=-year&limit=1&cursor={c}"
        ))
        .await;
    assert_eq!(r2.body["items"][0]["year"], 2000);
    let wrong = app.get(&format!("/api/books?sort=title&cursor={c}")).await;
    assert_problem(&wrong, 422, "validation-failed");
    let s = app
        .get("/api/books?q=livro&year_from=1980&year_to=1995")
        .await;
    assert_eq!(s.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.body["items"][0]["title"], "Livro 0",
        "year filter narrows the search"
    );

    // Back a page, where the pages are, how many there are.
    let r3 = app
        .get(&format!(
            "/api/books?category=ROMANCE&sort=-year&limit=1&count=true&before={}",
            r2.body["prev_cursor"]
                .as_str()
                .expect("a page before the second")
        ))
        .await;
    assert_eq!(r3.status, StatusCode::OK, "{:#}", r3.body);
    assert_eq!(r3.body["items"], r.body["items"], "the first page again");
    assert_eq!(
        (&r3.body["offset"], &r3.body["prev_cursor"]),
        (&json!(0), &Value::Null)
    );
    assert_eq!(r3.body["count"], json!({"value": 2, "capped": false}));
    assert_eq!(r2.body["offset"], 1);
    assert!(r.body.get("count").is_none(), "counted only when asked");

    // The most rented first: Livro 1 twice, Livro 2 once, Livro 0 never.
    let ids: Vec<String> = {
        let all = app.get("/api/books?q=livro&sort=title").await;
        all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for id in [&ids[1], &ids[1], &ids[2]] {
        let r = app
            .call(
                Method::POST,
                "/api/rentals",
                Some(json!({"book_id": id, "renter": "ana"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.body);
        let rental = r.body["id"].as_str().unwrap().to_owned();
        let back = app
            .call(Method::POST, &format!("/api/rentals/{rental}/return"), None)
            .await;
        assert_eq!(back.status, StatusCode::OK, "{:#}", back.body);
    }
    let most = app.get("/api/books?q=livro&sort=-rentals").await;
    let titles: Vec<&str> = most.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Livro 1", "Livro 2", "Livro 0"], "{:#}", most.body);
    let bad = app.get("/api/books?sort=-rentals&cursor=x&before=y").await;
    assert_problem(&bad, 422, "validation-failed");
}

async fn bad_input_gets_4xx_problems_never_500(app: &TestApp) {
    let id = create_book(app, book_json(ISBN, 1)).await;
    let mut unknown = book_json("9780306406157", 1);
    unknown["colour"] = json!("red");
    let mut wrong_type = book_json("9780306406157", 1);
    wrong_type["copies"] = json!("many");
    let mut negative = book_json("9780306406157", 1);
    negative["copies"] = json!(-1);
    let mut long = book_json("9780306406157", 1);
    long["title"] = json!("x".repeat(301));
    let mut huge_number = book_json("9780306406157", 1);
    huge_number["year"] = json!(1e300);
    // (body, problem code): every one is refused 422.
    let bad_books = [
        (unknown, "bad-json-data"),
        (wrong_type, "bad-json-data"),
        (huge_number, "bad-json-data"),
        (negative, "validation-failed"),
        (long, "validation-failed"),
        (book_json("978-85-359-1066-0", 1), "validation-failed"),
    ];
    let bad_rentals = [
        (json!({"book_id": "nope", "renter": "a"}), "bad-json-data"),
        (json!({"book_id": id, "renter": ""}), "validation-failed"),
        (
            json!({"book_id": id, "renter": "a", "due_date": "2001-01-01"}),
            "validation-failed",
        ),
        (
            json!({"book_id": id, "renter": "a", "due_date": "31/12/2099"}),
            "bad-json-data",
        ),
    ];
    // Requests without a body: method, uri, status, problem code.
    let bad_requests = "
        GET   /api/books/not-a-uuid                         400 bad-path
        GET   /api/books?limit=0                            422 validation-failed
        GET   /api/books?limit=101                          422 validation-failed
        GET   /api/books?limit=-1                           400 bad-query
        GET   /api/books?year_from=abc                      400 bad-query
        GET   /api/books?colour=red                         400 bad-query
        GET   /api/books?cursor=%00%01                      422 validation-failed
        GET   /api/books?sort=colour                        422 validation-failed
        GET   /api/rentals?status=lost                      422 validation-failed
        POST  /api/rentals/nope/return                      400 bad-path
        GET   /api/audit?entity_type=spaceship&entity_id=1  422 validation-failed
        GET   /api/audit?entity_type=book&entity_id=1       422 validation-failed
        GET   /api/audit?entity_id=1                        422 validation-failed
        GET   /api/audit?action=exploded                    422 validation-failed
        GET   /api/audit?from=yesterday                     422 validation-failed
        GET   /api/audit?from=2026-12-07&to=2026-12-01      422 validation-failed
        GET   /api/audit?to=2026-02-30                      422 validation-failed
        GET   /api/audit?cursor=zzz                         422 validation-failed
        GET   /api/audit?limit=0                            422 validation-failed
        GET   /api/audit?limit=1001                         422 validation-failed
        GET   /api/audit?colour=red                         400 bad-query
        GET   /api/nothing-here                             404 no-such-route
        PATCH /api/books                                    405 method-not-allowed
    ";
    let long_query = format!("/api/books?q={}", "a".repeat(500));
    let bad_requests = bad_requests
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [method, uri, status, code] => (
                method.parse::<Method>().unwrap(),
                uri.to_owned(),
                None,
                status.parse::<u16>().unwrap(),
                code,
            ),
            _ => panic!("a bad case: {l}"),
        })
        .chain([(Method::GET, long_query, None, 422, "validation-failed")]);
    let posts = |uri: &'static str| {
        move |(body, code): (Value, &'static str)| {
            (Method::POST, uri.to_owned(), Some(body), 422, code)
        }
    };
    let cases = bad_books
        .into_iter()
        .map(posts("/api/books"))
        .chain(bad_rentals.into_iter().map(posts("/api/rentals")))
        .chain(bad_requests);
    for (method, uri, body, status, code) in cases {
        let r = app.call(method.clone(), &uri, body).await;
        assert!(r.status.is_client_error(), "{method} {uri}: {}", r.text);
        assert_problem(&r, status, code);
    }
    let mut with_version = book_json("9780306406157", 1);
    with_version["version"] = json!(1);
    let r = app
        .call(Method::POST, "/api/books", Some(with_version))
        .await;
    assert_problem(&r, 422, "validation-failed");
    let r = app
        .call(
            Method::PUT,
            &format!("/api/books/{id}"),
            Some(book_json(ISBN, 1)),
        )
        .await;
    assert_problem(&r, 422, "validation-failed");
    assert_eq!(
        r.body["errors"][0]["field"], "version",
        "PUT needs the version"
    );
    let syntax = app
        .send(
            Request::post("/api/books")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_problem(&syntax, 400, "bad-json");
    let no_type = app
        .send(Request::post("/api/books").body(Body::from("{}")).unwrap())
        .await;
    assert_problem(&no_type, 415, "unsupported-media-type");
    let big = app
        .send(
            Request::post("/api/books")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(vec![b' '; 100_000]))
                .unwrap(),
        )
        .await;
    assert_problem(&big, 413, "body-too-large");
    let validation = app
        .call(
            Method::POST,
            "/api/books",
            Some(json!({"title": "", "author": "a", "isbn": "1", "year": 1})),
        )
        .await;
    let fields: Vec<_> = validation.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["title", "isbn", "year"],
        "every bad field is reported"
    );
}

struct Down;

#[async_trait::async_trait]
impl HealthProbe for Down {
    fn name(&self) -> &str {
        "database"
    }
    async fn check(&self) -> Result<(), String> {
        Err("connection refused".into())
    }
}

#[tokio::test]
async fn health_reports_dependencies() {
    let app = &memory_app();
    let live = app.get("/health/live").await;
    assert_eq!(
        (live.status, live.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let ready = app.get("/health").await;
    assert_eq!(ready.status, StatusCode::OK);

    let mem = MemoryBackend::new();
    let mut ports = mem.ports();
    ports.probes.push(Arc::new(Down));
    let down = TestApp::new(router(kcl_core::Services::new(ports)));
    let r = down.get("/health").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["checks"][0]["name"], "database");
    assert_eq!(r.body["checks"][0]["error"], "connection refused");
    let live = down.get("/health/live").await;
    assert_eq!(
        live.status,
        StatusCode::OK,
        "liveness touches no dependency"
    );
}

fn form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn web_ui_creates_edits_rents_returns_and_deletes(app: &TestApp) {
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.content_type.starts_with("text/html"));
    let created = app.send(form("/ui/books", "title=%3Cscript%3Ealert(1)%3C%2Fscript%3E&author=Ana&isbn=9780306406157&category=Poesia&year=2001&price=39%2C90&copies=1&summary=")).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let page_uri = created.location.unwrap();
    let page = app.get(&page_uri).await;
    assert!(
        page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "titles are escaped"
    );
    assert!(!page.text.contains("<script>alert"), "no injection");
    assert!(page.text.contains("39.90"));
    let id = page_uri.trim_start_matches("/books/");

    let bad = app
        .send(form("/ui/books", "title=&author=&isbn=1&year=x"))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("must be a whole number"));
    // The form comes back as typed, the bad field marked and explained.
    assert!(
        bad.text
            .contains(r#"name="isbn" required maxlength="32" value="1""#),
        "{}",
        bad.text
    );
    assert!(bad.text.contains(r#"name="year" type="number" required value="x" aria-invalid="true" aria-describedby="year-error""#), "{}", bad.text);
    assert!(
        bad.text.contains(
            r#"<small class="field-error" id="year-error">must be a whole number</small>"#
        ),
        "{}",
        bad.text
    );
    let checks = app
        .send(form("/ui/books", "title=Another&author=Ana&isbn=9780306406157&category=Poesia&year=1990&price=1&copies=1&summary=kept%20text"))
        .await;
    assert_eq!(
        checks.status,
        StatusCode::CONFLICT,
        "a taken ISBN: {}",
        checks.text
    );
    assert!(
        checks.text.contains(r#"value="Another""#) && checks.text.contains(">kept text</textarea>"),
        "{}",
        checks.text
    );

    let edit = app.send(form(&format!("/ui/books/{id}"), "version=1&title=Edited&author=Ana&isbn=9780306406157&category=Poesia&year=2001&price=10&copies=2&summary=s")).await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", edit.text);
    // The same form again (version 1, now stale): refused, and shown again with the
    // typed values on the current version, so that saving once more goes through.
    let stale = app.send(form(&format!("/ui/books/{id}"), "version=1&title=Stale%20edit&author=Ana&isbn=9780306406157&category=Poesia&year=2001&price=10&copies=2&summary=s")).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert!(
        stale.text.contains(r#"name="version" value="2""#),
        "{}",
        stale.text
    );
    assert!(
        stale.text.contains(r#"value="Stale edit""#),
        "{}",
        stale.text
    );
    // A refused rental (a date that is not one): the form again, as typed.
    let bad_rent = app
        .send(form(
            &format!("/ui/books/{id}/rent"),
            "renter=Capitu&due_date=31%2F12%2F2099",
        ))
        .await;
    assert_eq!(
        bad_rent.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_rent.text
    );
    assert!(
        bad_rent.text.contains(r#"value="Capitu""#),
        "{}",
        bad_rent.text
    );
    assert!(
        bad_rent
            .text
            .contains(r#"value="31/12/2099" aria-invalid="true""#),
        "{}",
        bad_rent.text
    );
    let rent = app
        .send(form(
            &format!("/ui/books/{id}/rent"),
            "renter=bia&due_date=",
        ))
        .await;
    assert_eq!(rent.status, StatusCode::SEE_OTHER, "{}", rent.text);
    let page = app.get(&page_uri).await;
    assert!(
        page.text.contains("Edited") && page.text.contains("bia") && page.text.contains("1 of 2")
    );
    let rental_id = page
        .text
        .split("/ui/rentals/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let ret = app
        .send(form(&format!("/ui/rentals/{rental_id}/return"), ""))
        .await;
    assert_eq!(ret.status, StatusCode::SEE_OTHER);
    let list = app.get("/?q=edited&available=on&sort=-year").await;
    assert!(list.text.contains("Edited"));
    // Without a readable version the delete is refused (before, it deleted without
    // the version check).
    for bad in ["version=", "version=two", ""] {
        let del = app.send(form(&format!("/ui/books/{id}/delete"), bad)).await;
        assert_eq!(
            del.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            del.text
        );
    }
    let stale = app
        .send(form(&format!("/ui/books/{id}/delete"), "version=1"))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    let del = app
        .send(form(&format!("/ui/books/{id}/delete"), "version=2"))
        .await;
    assert_eq!(del.status, StatusCode::SEE_OTHER, "{}", del.text);
    let gone = app.get(&page_uri).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn web_forms_posted_from_another_site_are_refused(app: &TestApp) {
    let body = "title=T&author=A&isbn=9780306406157&category=C&year=2001&price=1&copies=1&summary=";
    let mut req = form("/ui/books", body);
    req.headers_mut()
        .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    let mut req = form("/ui/books", body);
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    let mut req = form("/ui/books", body);
    req.headers_mut()
        .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    req.headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
    req.headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    assert_eq!(
        app.send(req).await.status,
        StatusCode::SEE_OTHER,
        "same origin is fine"
    );
    let list = app.get("/api/books").await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "only the same-origin post created a book"
    );
}

async fn out_of_range_versions_are_invalid_not_conflicts(app: &TestApp) {
    let id = create_book(app, book_json(ISBN, 1)).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/books/{id}?version=18446744073709551615"),
            None,
        )
        .await;
    assert_problem(&r, 422, "validation-failed");
    assert_eq!(r.body["errors"][0]["field"], "version");
    let r = app
        .call(Method::DELETE, &format!("/api/books/{id}?version=0"), None)
        .await;
    assert_problem(&r, 422, "validation-failed");
}

/// Two servers on one PostgreSQL database and one Redis cache, as behind a load
/// balancer: a write acknowledged by one is never answered stale by the other, and
/// rentals split across both never exceed the copies.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_truth() {
    let Some(redis) = kcl_core::testkit::services::redis_url() else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();
    let vars = std::collections::HashMap::from([
        ("KCL_DATABASE_URL".to_owned(), url),
        ("KCL_CACHE_URL".to_owned(), redis),
    ]);
    let config = kcl::Config::from_vars(&vars).unwrap();
    let a_kcl = kcl::Kcl::open(&config).await.unwrap();
    let b_kcl = kcl::Kcl::open(&config).await.unwrap();
    let (a, b) = (
        TestApp::new(router(a_kcl.services.clone())),
        TestApp::new(router(b_kcl.services.clone())),
    );

    let created = a
        .call(Method::POST, "/api/books", Some(book_json(ISBN, 3)))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let on_b = b.get(&format!("/api/books/{id}")).await;
    assert_eq!(
        on_b.status,
        StatusCode::OK,
        "a book created on A is served by B"
    );
    // A caches the book and the listing.
    a.get(&format!("/api/books/{id}")).await;
    a.get("/api/books").await;
    let mut update = book_json(ISBN, 3);
    update["version"] = json!(1);
    update["title"] = json!("Changed on B");
    let updated = b
        .call(Method::PUT, &format!("/api/books/{id}"), Some(update))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let on_a = a.get(&format!("/api/books/{id}")).await;
    assert_eq!(
        on_a.body["title"], "Changed on B",
        "A never serves its stale copy"
    );
    let list_a = a.get("/api/books").await;
    assert_eq!(list_a.body["items"][0]["title"], "Changed on B");

    // Interleaved on both servers (each request awaits the database in turn).
    let rents = (0..10).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let body = json!({"book_id": id, "renter": format!("r{i}")});
        async move {
            app.call(Method::POST, "/api/rentals", Some(body))
                .await
                .status
        }
    });
    let mut created = 0;
    for status in futures::future::join_all(rents).await {
        match status.as_u16() {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        created, 3,
        "rentals split across two servers never exceed the copies"
    );
    let seen = a.get(&format!("/api/books/{id}")).await;
    assert_eq!(seen.body["available"], 0);
    a_kcl.close().await;
    b_kcl.close().await;
    db.drop_now().await;
}

/// `POST /api/books/import`: a CSV is imported whole (each book created,
/// searchable and audited), sent again every book is skipped by line, a file with
/// one bad row stores nothing and names the line, and a body that is not CSV is
/// refused.
async fn books_import_whole_or_not_at_all(app: &TestApp) {
    use kcl::domain::Isbn;
    let t = format!("lote{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let isbn = |k: u64| Isbn::synthetic(9_000 + k).as_str().to_owned();
    let csv = format!(
        "titulo;autor;isbn;ano;exemplares;preco\n\
         Primeiro {t};Autora;{};1999;2;39,90\n\
         \"Segundo; {t}\";Autor;{};2001;1;10\n\
         Terceiro {t};Autor;{};2002;0;\n",
        isbn(1),
        isbn(2),
        isbn(3)
    );
    let first = app.post("/api/books/import", "text/csv", csv.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["created"], 3, "{}", first.text);
    assert_eq!(first.body["skipped"], 0, "{}", first.text);
    let listed = app.get(&format!("/api/books?q={t}&limit=10")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{}", listed.text);
    let second = items
        .iter()
        .find(|b| b["isbn"] == isbn(2).as_str())
        .expect("the second book");
    assert_eq!(second["title"], format!("Segundo; {t}"));
    assert_eq!(second["price_cents"], 1000);
    let history = app
        .get(&format!(
            "/api/audit?entity_type=book&entity_id={}",
            second["id"].as_str().expect("an id")
        ))
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert_eq!(
        history.body["items"][0]["action"], "created",
        "{}",
        history.text
    );

    let again = app.post("/api/books/import", "text/csv", csv).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["created"], 0, "{}", again.text);
    assert_eq!(again.body["skipped"], 3, "{}", again.text);
    assert_eq!(again.body["skipped_books"][1]["line"], 3, "{}", again.text);

    let bad = format!(
        "title,author,isbn,year\nQuarto {t},Autor,{},2003\nQuinto {t},Autor,123,2004\n",
        isbn(4)
    );
    let refused = app.post("/api/books/import", "text/csv", bad).await;
    assert_problem(&refused, 422, "validation-failed");
    assert_eq!(
        refused.body["errors"][0]["field"], "line 3: isbn",
        "{}",
        refused.text
    );
    let listed = app.get(&format!("/api/books?q={t}&limit=10")).await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(3),
        "a refused file stores nothing: {}",
        listed.text
    );
    let not_csv = app
        .post("/api/books/import", "application/json", "[]")
        .await;
    assert_problem(&not_csv, 415, "unsupported-media-type");
    let header_only = app
        .post("/api/books/import", "text/csv", "title,author,isbn,year\n")
        .await;
    assert_problem(&header_only, 422, "validation-failed");
}

async fn audit_searches_across_entities(app: &TestApp) {
    let before = (chrono::Utc::now() - chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let a = create_book(app, book_json(ISBN, 1)).await;
    let b = create_book(app, book_json("9780306406157", 1)).await;
    let c = create_book(app, book_json(kcl::domain::Isbn::synthetic(3).as_str(), 1)).await;
    for id in [&a, &b] {
        let r = app
            .call(Method::DELETE, &format!("/api/books/{id}"), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let ids = |r: &Reply| -> Vec<(String, String)> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["entity_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let deleted = |id: &str| ("deleted".to_owned(), id.to_owned());
    let created = |id: &str| ("created".to_owned(), id.to_owned());

    // Every deletion, newest first, a page at a time.
    let first = app
        .get("/api/audit?action=deleted&entity_type=book&limit=1")
        .await;
    assert_eq!(ids(&first), [deleted(&b)]);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app
        .get(&format!(
            "/api/audit?action=deleted&entity_type=book&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&second), [deleted(&a)]);
    assert!(second.body["next_cursor"].is_null(), "{}", second.text);

    let all = app.get(&format!("/api/audit?from={before}")).await;
    assert_eq!(
        ids(&all),
        [
            deleted(&b),
            deleted(&a),
            created(&c),
            created(&b),
            created(&a)
        ],
        "everything since, newest first"
    );
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let empty = app.get(&format!("/api/audit?to={yesterday}")).await;
    assert_eq!(ids(&empty), [], "nothing before today");
    let creations = app
        .get(&format!(
            "/api/audit?action=created&from={yesterday}&to={today}"
        ))
        .await;
    assert_eq!(
        ids(&creations),
        [created(&c), created(&b), created(&a)],
        "dates include the whole day"
    );
    let jobs = app.get("/api/audit?entity_type=job").await;
    assert_eq!(ids(&jobs), [], "no job events");

    // With entity_id: that entity's history, oldest first, as before.
    let history = app
        .get(&format!("/api/audit?entity_type=book&entity_id={a}"))
        .await;
    assert_eq!(ids(&history), [created(&a), deleted(&a)]);
    let mixed = app
        .get(&format!(
            "/api/audit?entity_type=book&entity_id={a}&action=created"
        ))
        .await;
    assert_problem(&mixed, 422, "validation-failed");
    assert_eq!(mixed.body["errors"][0]["field"], "action", "{}", mixed.text);

    // The page: the same search, with the filters kept in the form.
    let page = app.get("/audit?action=deleted&entity_type=book").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains(&a) && page.text.contains(&b),
        "{}",
        page.text
    );
    assert!(!page.text.contains(&c), "only deletions");
    assert!(page.text.contains(r#"<option value="deleted" selected>"#));
    let bad = app.get("/audit?from=nope").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("RFC 3339"), "{}", bad.text);
    assert!(
        bad.text.contains(r#"value="nope""#),
        "the form keeps what was typed"
    );
}
