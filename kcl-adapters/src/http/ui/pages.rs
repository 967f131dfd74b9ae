use crate::http::access::href;
use axum::extract::State;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use kcl_core::domain::{AuditEvent, Book, BookId, Rental};
use kcl_core::services::{ListBooks, ListRentals};
use kcl_core::Services;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::access;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::i18n::{self, tr};
use crate::http::page::{error_page, layout, live_layout, or_page, OrPage};

#[derive(Debug, Deserialize, Default)]
pub(crate) struct IndexQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    available: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    before: String,
    /// Books per page, 1 to 100 (25 by default).
    #[serde(default)]
    limit: Option<u32>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub(crate) async fn index(
    State(s): State<Arc<Services>>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<IndexQuery>>,
) -> Response {
    let ask = ListBooks {
        q: opt(&q.q),
        category: opt(&q.category),
        author: opt(&q.author),
        available_only: q.available == "on" || q.available == "true",
        sort: opt(&q.sort),
        cursor: opt(&q.cursor),
        before: opt(&q.before),
        limit: Some(q.limit.unwrap_or(25)),
        // A search shows where its page is, not how many match: counting a dense
        // search's matches would cost more than listing its page.
        with_count: q.q.trim().is_empty(),
        ..Default::default()
    };
    let page = or_page!(s.catalog.list(ask).await);
    let limit = q.limit.map(|l| l.to_string()).unwrap_or_default();
    let link = |name: &str, c: &String| {
        let mut ser = form_urlencoded(&[
            ("q", &q.q),
            ("category", &q.category),
            ("author", &q.author),
            ("available", &q.available),
            ("sort", &q.sort),
            ("limit", &limit),
            (name, c),
        ]);
        ser.insert(0, '?');
        ser
    };
    let next = page.next_cursor.as_ref().map(|c| link("cursor", c));
    let prev = page.prev_cursor.as_ref().map(|c| link("before", c));
    // "1-25 of 1,000+": where this page is, and how many there are, up to a cap.
    let plus = |c: kcl_core::domain::PageCount| if c.capped { "+" } else { "" };
    let shown = match (page.offset, page.count, page.items.len() as u64) {
        (_, _, 0) | (_, None, _) => None,
        (Some(o), Some(c), n) => Some(tr!(
            "catalog-shown-range",
            from = i18n::count(o.saturating_add(1)),
            to = i18n::count(o.saturating_add(n)),
            count = format!("{}{}", i18n::count(c.value), plus(c)),
        )),
        (None, Some(c), n) => Some(tr!(
            "catalog-shown",
            shown = i18n::count(n),
            count = format!("{}{}", i18n::count(c.value), plus(c)),
        )),
    };
    let sorts = [
        ("title", tr!("catalog-sort-title")),
        ("-title", tr!("catalog-sort-title-desc")),
        ("author", tr!("catalog-sort-author")),
        ("-year", tr!("catalog-sort-newest-year")),
        ("year", tr!("catalog-sort-oldest-year")),
        ("price", tr!("catalog-sort-cheapest")),
        ("-created_at", tr!("catalog-sort-recent")),
        ("-rentals", tr!("catalog-sort-most-rented")),
    ];
    let body = html! {
        form method="get" action=(href("/")) {
            input type="search" name="q" value=(q.q) placeholder=(tr!("catalog-search-placeholder")) aria-label=(tr!("catalog-search"));
            " "
            input name="category" value=(q.category) placeholder=(tr!("catalog-category")) aria-label=(tr!("catalog-category"));
            " "
            input name="author" value=(q.author) placeholder=(tr!("catalog-author")) aria-label=(tr!("catalog-author"));
            " "
            label.inline { input type="checkbox" name="available" checked[q.available == "on"]; " " (tr!("catalog-available-only")) }
            " "
            select name="sort" aria-label=(tr!("catalog-sort")) {
                @for (v, label) in &sorts { option value=(v) selected[q.sort == *v] { (label) } }
            }
            " "
            button type="submit" { (tr!("catalog-search")) }
        }
        table {
            thead { tr {
                th { (tr!("catalog-col-title")) } th { (tr!("catalog-col-author")) } th { (tr!("catalog-col-category")) }
                th { (tr!("catalog-col-year")) } th.num { (tr!("catalog-col-price")) } th.num { (tr!("catalog-col-available")) } th {}
            } }
            tbody {
                @for b in &page.items { (book_row(b)) }
                @if page.items.is_empty() { tr { td colspan="7" class="muted" { (tr!("catalog-none")) } } }
            }
        }
        @if shown.is_some() || prev.is_some() || next.is_some() {
            p.pages {
                @if let Some(p) = &prev { a href=(p) rel="prev" { (tr!("previous-page")) } " " }
                @if let Some(s) = &shown { span.muted { (s) } " " }
                @if let Some(n) = &next { a href=(n) rel="next" { (tr!("next-page")) } }
            }
        }
        h2 { (tr!("catalog-add-heading")) }
        (book_form("/ui/books", &book_values(None), &[], &tr!("catalog-add")))
    };
    layout(&tr!("catalog-title"), body).into_response()
}

fn book_row(b: &Book) -> Markup {
    html! {
        tr {
            td {
                @if b.cover.as_ref().is_some_and(|c| c.thumbnail.is_some()) {
                    img src=(href(&format!("/api/books/{}/cover/thumb", b.id))) alt="" height="48" loading="lazy" class="thumb";
                }
                a href=(href(&format!("/books/{}", b.id))) { (b.title) }
            }
            td { (b.author) }
            td { (b.category) }
            td { (b.year) }
            td.num { (i18n::money(b.price.cents())) }
            td.num { (i18n::number(b.available())) " / " (i18n::number(b.copies)) }
            td {
                @if b.available() > 0 {
                    form.inline method="post" action=(access::form_action(&format!("/ui/books/{}/rent", b.id))) {
                        input name="renter" placeholder=(tr!("catalog-renter")) required aria-label=(tr!("catalog-renter")) size="10";
                        " " button type="submit" { (tr!("catalog-rent")) }
                    }
                }
            }
        }
    }
}

/// The form that rents a copy of book `id`, with `renter` and `due_date` as typed;
/// each field of `errors` is marked invalid and explained under it.
pub(crate) fn rent_form(
    id: BookId,
    renter: &str,
    due_date: &str,
    errors: &[kcl_core::domain::FieldError],
) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(i18n::field_message)
    };
    html! {
        form method="post" action=(access::form_action(&format!("/ui/books/{id}/rent"))) {
            fieldset { legend { (tr!("rent-legend")) }
                label { (tr!("rent-renter")) " " input name="renter" required maxlength="100" value=(renter)
                    aria-invalid=[error("renter").map(|_| "true")] aria-describedby=[error("renter").map(|_| "renter-error")];
                    @if let Some(m) = error("renter") { small.field-error id="renter-error" { (m) } } }
                label { (tr!("rent-due")) " " input name="due_date" type="date" value=(due_date)
                    aria-invalid=[error("due_date").map(|_| "true")] aria-describedby=[error("due_date").map(|_| "due_date-error")];
                    @if let Some(m) = error("due_date") { small.field-error id="due_date-error" { (m) } } }
                button type="submit" { (tr!("rent-submit")) }
            }
        }
    }
}

/// A book form's values: a new book's defaults, a stored book's fields, or what
/// the user typed (kept when the server refuses it).
pub(crate) fn book_values(book: Option<&Book>) -> super::forms::BookForm {
    match book {
        None => super::forms::BookForm {
            // Stored data, the same whatever the visitor's language.
            category: "General".into(),
            price: "0.00".into(),
            copies: "1".into(),
            ..Default::default()
        },
        Some(b) => super::forms::BookForm {
            version: b.version.to_string(),
            title: b.title.clone(),
            author: b.author.clone(),
            isbn: b.isbn.as_str().to_owned(),
            category: b.category.clone(),
            year: b.year.to_string(),
            price: b.price.to_string(),
            copies: b.copies.to_string(),
            summary: b.summary.clone(),
        },
    }
}

/// The book form with `values`; each field of `errors` is marked invalid
/// (`aria-invalid`) and its message shown under it (`aria-describedby`).
pub(crate) fn book_form(
    action: &str,
    values: &super::forms::BookForm,
    errors: &[kcl_core::domain::FieldError],
    submit: &str,
) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(i18n::field_message)
    };
    let invalid = |field: &str| error(field).map(|_| "true");
    let described = |field: &str| error(field).map(|_| format!("{field}-error"));
    let message = |field: &str| {
        html! { @if let Some(m) = error(field) { small.field-error id=(format!("{field}-error")) { (m) } } }
    };
    let v = values;
    html! {
        form method="post" action=(access::form_action(action)) {
            @if !v.version.is_empty() { input type="hidden" name="version" value=(v.version); }
            label { (tr!("form-title")) " " input name="title" required maxlength="300" value=(v.title) aria-invalid=[invalid("title")] aria-describedby=[described("title")]; (message("title")) }
            label { (tr!("form-author")) " " input name="author" required maxlength="200" value=(v.author) aria-invalid=[invalid("author")] aria-describedby=[described("author")]; (message("author")) }
            label { (tr!("form-isbn")) " " input name="isbn" required maxlength="32" value=(v.isbn) aria-invalid=[invalid("isbn")] aria-describedby=[described("isbn")]; (message("isbn")) }
            label { (tr!("form-category")) " " input name="category" required maxlength="80" value=(v.category) aria-invalid=[invalid("category")] aria-describedby=[described("category")]; (message("category")) }
            label { (tr!("form-year")) " " input name="year" type="number" required value=(v.year) aria-invalid=[invalid("year")] aria-describedby=[described("year")]; (message("year")) }
            label { (tr!("form-price")) " " input name="price" inputmode="decimal" value=(v.price) aria-invalid=[invalid("price")] aria-describedby=[described("price")]; (message("price")) }
            label { (tr!("form-copies")) " " input name="copies" type="number" min="0" value=(v.copies) aria-invalid=[invalid("copies")] aria-describedby=[described("copies")]; (message("copies")) }
            label { (tr!("form-summary")) br; textarea name="summary" rows="4" cols="60" maxlength="5000" aria-invalid=[invalid("summary")] aria-describedby=[described("summary")] { (v.summary) } (message("summary")) }
            button type="submit" { (submit) }
        }
    }
}

pub(crate) async fn book(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    let id = BookId(id);
    let book = or_page!(s.catalog.get(id).await);
    let rentals = s
        .rentals
        .list(ListRentals {
            book_id: Some(id),
            limit: Some(50),
            ..Default::default()
        })
        .await;
    let history = s.catalog.history(id, 100).await;
    let (rentals, history) = match (rentals, history) {
        (Ok(r), Ok(h)) => (r.items, h),
        (Err(e), _) | (_, Err(e)) => return error_page(e.into()),
    };
    let today = s.rentals.today();
    // A cover without its thumbnail yet: how is it going?
    let cover_status = match &book.cover {
        Some(c) if c.thumbnail.is_none() => s.covers.status(&c.original).await.ok(),
        _ => None,
    };
    let pending = cover_status
        .as_ref()
        .is_some_and(|st| !st.status.is_final());
    let body = html! {
        p { (tr!("book-by")) " " strong { (book.author) } " · " (book.category) " · " (book.year) " · " (tr!("book-isbn")) " " (book.isbn) }
        p {
            (tr!("book-price")) " " (i18n::money(book.price.cents())) " · "
            (tr!("book-copies-available", available = i18n::number(book.available()), copies = i18n::number(book.copies)))
            " · " (tr!("book-version", version = book.version.to_string()))
        }
        @if !book.summary.is_empty() { p { (book.summary) } }
        @match &book.cover {
            Some(c) if c.thumbnail.is_some() => {
                p { a href=(href(&format!("/api/books/{}/cover", book.id))) {
                    img src=(href(&format!("/api/books/{}/cover/thumb", book.id))) alt=(tr!("book-cover-alt", title = book.title.as_str()));
                } }
            }
            Some(c) => {
                @match &cover_status {
                    Some(st) if st.status == kcl_core::ports::ProcessingState::Error => {
                        div.error role="alert" { p { (tr!("book-thumbnail-failed")) " " (st.message) } }
                    }
                    _ => {
                        p.muted.cover-pending {
                            (crate::http::page::with_elements(
                                &tr!("book-cover-pending", status = crate::http::page::SLOT),
                                &[html! { a href=(crate::http::forms::status_url(&c.original)) { (tr!("book-cover-status")) } }],
                            ))
                        }
                    }
                }
            }
            None => { p.muted { (tr!("book-no-cover")) } }
        }
        form method="post" action=(access::form_action(&format!("/ui/books/{}/cover", book.id))) enctype="multipart/form-data" {
            fieldset { legend { (tr!("book-cover-legend")) }
                label { (tr!("book-cover-file")) " " input name="file" type="file" accept="image/jpeg,image/png,image/webp,image/gif" required; }
                button type="submit" { (tr!("book-cover-upload")) }
            }
        }
        @if book.available() > 0 {
            (rent_form(book.id, "", "", &[]))
        }
        h2 { (tr!("book-rentals")) }
        (rentals_table(&rentals, today, false, &tr!("book-no-rentals")))
        h2 { (tr!("book-edit")) }
        (book_form(&format!("/ui/books/{}", book.id), &book_values(Some(&book)), &[], &tr!("book-save")))
        form method="post" action=(access::form_action(&format!("/ui/books/{}/delete", book.id))) {
            input type="hidden" name="version" value=(book.version);
            fieldset { legend { (tr!("book-delete-legend")) } button type="submit" { (tr!("book-delete")) } }
        }
        h2 { (tr!("book-history")) }
        (history_list(&history))
    };
    if pending {
        live_layout(&book.title, body).into_response()
    } else {
        layout(&book.title, body).into_response()
    }
}

/// Rentals with a Return button on those still out; `with_book` adds a link to each
/// rental's book (for lists across books), `empty` is said when there are none.
fn rentals_table(
    rentals: &[Rental],
    today: chrono::NaiveDate,
    with_book: bool,
    empty: &str,
) -> Markup {
    html! {
        @if rentals.is_empty() { p.muted { (empty) } } @else {
            table {
                thead { tr {
                    @if with_book { th { (tr!("rentals-col-book")) } }
                    th { (tr!("rentals-col-renter")) } th { (tr!("rentals-col-rented")) } th { (tr!("rentals-col-due")) } th { (tr!("rentals-col-status")) } th {}
                } }
                tbody { @for r in rentals {
                    tr {
                        @if with_book { td { a href=(href(&format!("/books/{}", r.book_id))) { (tr!("rentals-book-link")) } } }
                        td { (r.renter) }
                        td { time datetime=(r.rented_at.to_rfc3339()) { (i18n::date_time(r.rented_at)) } }
                        td { time datetime=(r.due_date) { (i18n::date(r.due_date)) } }
                        td { (rental_status(r.status(today))) }
                        td { @if r.returned_at.is_none() {
                            form.inline method="post" action=(access::form_action(&format!("/ui/rentals/{}/return", r.id))) {
                                button type="submit" { (tr!("rentals-return")) }
                            }
                        } }
                    }
                } }
            }
        }
    }
}

/// A rental's status in the request's language.
fn rental_status(status: kcl_core::domain::RentalStatus) -> String {
    match status {
        kcl_core::domain::RentalStatus::Active => tr!("rental-status-active"),
        kcl_core::domain::RentalStatus::Overdue => tr!("rental-status-overdue"),
        kcl_core::domain::RentalStatus::Returned => tr!("rental-status-returned"),
    }
}

fn history_list(events: &[AuditEvent]) -> Markup {
    html! {
        ol { @for e in events {
            li { time datetime=(e.occurred_at.to_rfc3339()) { (i18n::date_time_seconds(e.occurred_at)) } " — " (super::audit::action_label(e.action)) }
        } }
    }
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::http::page::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct RentalsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /rentals?status=overdue|active|returned`: rentals, newest first, with a
/// return button on the ones still out. Overdue by default.
pub(crate) async fn rentals(
    State(s): State<Arc<Services>>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<RentalsQuery>>,
) -> Response {
    let status = if q.status.is_empty() {
        "overdue".to_owned()
    } else {
        q.status.clone()
    };
    let page = or_page!(
        s.rentals
            .list(ListRentals {
                status: Some(status.clone()),
                cursor: opt(&q.cursor),
                limit: Some(50),
                ..Default::default()
            })
            .await
    );
    let today = s.rentals.today();
    let body = html! {
        p {
            @for (v, label) in [("overdue", tr!("rentals-overdue")), ("active", tr!("rentals-active")), ("returned", tr!("rentals-returned"))] {
                @if v == status { strong { (label) } } @else { a href=(href(&format!("/rentals?status={}", v))) { (label) } }
                " "
            }
        }
        (rentals_table(&page.items, today, true, &tr!("rentals-none")))
        @if let Some(c) = &page.next_cursor {
            p { a href=(href(&format!("/rentals?{}", form_urlencoded(&[("status", &status), ("cursor", c)])))) { (tr!("next-page")) } }
        }
    };
    layout(&tr!("rentals-title"), body).into_response()
}
