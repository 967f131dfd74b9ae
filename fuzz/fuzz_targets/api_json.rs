//! Any body sent to every route that reads a JSON or form body, through the real
//! router (authentication, limits, extractors, validation, the services over the
//! in-memory backend) as a logged-in admin: any 4xx or 2xx is fine; a panic or a
//! 5xx is not.
//!
//! An input is up to four requests, separated by `\n=>\n`, sent in turn to one
//! fresh backend (so that a request can meet the state an earlier one left: a
//! rented copy, a changed version, a large stock). In each, the first byte picks the
//! route (low 4 bits) and the content type (next 2 bits: the route's own, none, the
//! same with a charset, `text/plain`); the rest is the body. `@BOOK@` and `@JOB@`
//! in a body name the seeded book and job.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Method;
use kcl_fuzz::{Harness, Seed};
use libfuzzer_sys::fuzz_target;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// A route that reads a body: method, path, content type, what it needs seeded,
/// and whether it is on the login server.
struct Route {
    method: Method,
    path: &'static str,
    content_type: &'static str,
    seed: Seed,
    login: bool,
}

const fn seed(book: bool, job: bool, sales: bool) -> Seed {
    Seed {
        book,
        job,
        cover: false,
        sales,
        incoming: false,
    }
}

fn routes() -> [Route; 14] {
    let r = |method, path, content_type, seed, login| Route {
        method,
        path,
        content_type,
        seed,
        login,
    };
    let none = seed(false, false, false);
    let book = seed(true, false, false);
    let job = seed(false, true, false);
    let sales = seed(false, false, true);
    [
        r(Method::POST, "/api/books", JSON, book, false),
        r(Method::PUT, "/api/books/@BOOK@", JSON, book, false),
        r(Method::POST, "/api/rentals", JSON, book, false),
        r(Method::PATCH, "/api/jobs/@JOB@", JSON, job, false),
        r(Method::PUT, "/api/stock/789", JSON, sales, false),
        r(Method::POST, "/api/stock/789/receipts", JSON, none, false),
        r(Method::POST, "/api/reports", JSON, sales, false),
        r(Method::POST, "/api/auth/token", JSON, none, true),
        r(Method::POST, "/ui/books", FORM, book, false),
        r(Method::POST, "/ui/books/@BOOK@", FORM, book, false),
        r(Method::POST, "/ui/books/@BOOK@/delete", FORM, book, false),
        r(Method::POST, "/ui/books/@BOOK@/rent", FORM, book, false),
        r(Method::POST, "/ui/sales/report", FORM, sales, false),
        r(Method::POST, "/login", FORM, none, true),
    ]
}

/// What separates the requests of an input.
const SEP: &[u8] = b"\n=>\n";

/// The requests of an input: at most four, each a selector byte and a body.
fn requests(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 4 {
        let (one, tail) = match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => (&rest[..i], Some(&rest[i + SEP.len()..])),
            None => (rest, None),
        };
        if let Some((&selector, body)) = one.split_first() {
            out.push((selector, body));
        }
        match tail {
            Some(t) => rest = t,
            None => break,
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let h = HARNESS.get_or_init(Harness::new);
    let requests = requests(data);
    if requests.is_empty() {
        return;
    }
    let routes = routes();
    let route = |selector: u8| &routes[usize::from(selector & 0x0f) % routes.len()];
    // What every request of the input needs seeded.
    let seed = requests.iter().fold(Seed::default(), |acc, &(sel, _)| {
        let s = route(sel).seed;
        Seed {
            book: acc.book || s.book,
            job: acc.job || s.job,
            sales: acc.sales || s.sales,
            ..acc
        }
    });
    h.block_on(async {
        let fresh = h.fresh(seed).await;
        let app = h.app(fresh.services.clone());
        for (selector, body) in requests {
            let route = route(selector);
            let with_charset = format!("{}; charset=utf-8", route.content_type);
            let content_type = match (selector >> 4) & 0x03 {
                0 => Some(route.content_type),
                1 => None,
                2 => Some(with_charset.as_str()),
                _ => Some("text/plain"),
            };
            let uri = fresh.expand(route.path.as_bytes());
            let uri = std::str::from_utf8(&uri).expect("an ASCII path");
            let req = h
                .request(
                    route.method.clone(),
                    uri,
                    content_type,
                    Body::from(fresh.expand(body)),
                )
                .expect("fixed content types are valid headers");
            let to = if route.login {
                h.login_app()
            } else {
                app.clone()
            };
            h.send(to, req).await;
        }
    });
});
