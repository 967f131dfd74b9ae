//! KCL's router inside a host's own axum app: merged beside the host's routes and
//! fallback (no fallbacks of KCL's own), nested under `/library` with every link,
//! form and redirect of the UI under the prefix, and without the UI.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use kcl::http::{router_with, HttpOptions};
use kcl::Kcl;

#[path = "support/app.rs"]
mod app;
use app::TestApp;

/// The host's own app: a route and a fallback of its own.
fn host() -> Router {
    Router::new()
        .route("/hello", get(|| async { "the host's route" }))
        .fallback(|| async { (StatusCode::IM_A_TEAPOT, "the host's fallback") })
}

/// Every `href`, `src` and `action` of a page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "action=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].replace("&amp;", "&"));
        }
    }
    out
}

/// Every link of `html` is under `/library/` (or stays on the page: a query, an
/// anchor, a reload).
fn all_under_prefix(html: &str) {
    for link in links(html) {
        assert!(
            link.starts_with("/library/")
                || link == "/library"
                || link.starts_with("/library?")
                || link.is_empty()
                || link.starts_with('?')
                || link.starts_with('#'),
            "{link} is not under /library"
        );
    }
}

#[tokio::test]
async fn merged_beside_the_hosts_routes_and_fallback() {
    let kcl = Kcl::in_memory();
    // With KCL's fallbacks, axum would refuse the merge (two fallbacks).
    let app = TestApp::new(host().merge(router_with(
        kcl.services.clone(),
        HttpOptions::default().fallbacks(false),
    )));
    assert_eq!(app.get("/hello").await.text, "the host's route");
    assert_eq!(app.get("/api/books").await.status, StatusCode::OK);
    assert_eq!(app.get("/health/live").await.status, StatusCode::OK);
    let other = app.get("/not-kcls").await;
    assert_eq!(other.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(other.text, "the host's fallback");
}

#[tokio::test]
async fn nested_under_a_prefix_the_ui_stays_under_it() {
    let kcl = Kcl::in_memory();
    let options = HttpOptions::default()
        .base_path("/library")
        .expect("a base path")
        .fallbacks(false);
    let app = TestApp::new(host().nest("/library", router_with(kcl.services.clone(), options)));
    assert_eq!(app.get("/hello").await.text, "the host's route");
    assert_eq!(app.get("/nope").await.status, StatusCode::IM_A_TEAPOT);

    // The catalog page: its style sheet, script, menu and forms under /library.
    // A router nested at /library answers at /library (axum: not /library/).
    let home = app.get("/library").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    all_under_prefix(&home.text);
    assert!(links(&home.text).contains(&"/library/rentals".to_owned()));
    let css = links(&home.text)
        .into_iter()
        .find(|l| l.starts_with("/library/ui/static/app.css"))
        .expect("the style sheet");
    assert_eq!(app.get(&css).await.status, StatusCode::OK);

    // Adding a book with the page's form goes to its page, under /library.
    let action = links(&home.text)
        .into_iter()
        .find(|l| l.starts_with("/library/ui/books"))
        .expect("the add-a-book form");
    let created = app
        .post(
            &action,
            "application/x-www-form-urlencoded",
            "title=Iracema&author=Jos%C3%A9+de+Alencar&isbn=85-359-1066-2&category=Romance&price=10.00&copies=1&year=1865",
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let page = created.location.expect("a redirect");
    assert!(page.starts_with("/library/books/"), "{page}");
    let book = app.get(&page).await;
    assert_eq!(book.status, StatusCode::OK);
    assert!(book.text.contains("Iracema"));
    all_under_prefix(&book.text);

    // Renting from the book's page, back to the book's page.
    let rent = links(&book.text)
        .into_iter()
        .find(|l| l.ends_with("/rent"))
        .expect("the rent form");
    let rented = app
        .post(&rent, "application/x-www-form-urlencoded", "renter=ana")
        .await;
    assert_eq!(rented.status, StatusCode::SEE_OTHER, "{}", rented.text);
    assert_eq!(rented.location.as_deref(), Some(page.as_str()));
    let rentals = app.get("/library/rentals?status=active").await;
    assert!(rentals.text.contains("ana"));
    all_under_prefix(&rentals.text);

    // The API under the prefix too, and its documentation's link.
    let api = app.get("/library/api/books").await;
    assert_eq!(api.body["items"][0]["title"], "Iracema");
    let docs = app.get("/library/api/docs").await;
    assert!(links(&docs.text).contains(&"/library/api/openapi.json".to_owned()));
}

#[tokio::test]
async fn logging_in_under_a_prefix_comes_back_under_it() {
    let kcl = Kcl::in_memory();
    let auth =
        kcl::http::auth::AuthSettings::new(b"a secret of at least thirty-two bytes".to_vec())
            .expect("auth settings");
    let options = HttpOptions::default()
        .base_path("/library")
        .expect("a base path")
        .fallbacks(false)
        .auth(auth);
    let app = TestApp::new(host().nest("/library", router_with(kcl.services.clone(), options)));
    let r = app.get("/library/rentals?status=active").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location.as_deref(),
        Some("/library/login?next=/rentals%3Fstatus%3Dactive")
    );
    let login = app.get(r.location.as_deref().unwrap()).await;
    assert_eq!(login.status, StatusCode::OK);
    all_under_prefix(&login.text);
    assert!(links(&login.text).contains(&"/library/login".to_owned()));
}

#[tokio::test]
async fn without_the_ui_only_the_api_is_served() {
    let kcl = Kcl::in_memory();
    let app = TestApp::new(router_with(
        kcl.services.clone(),
        HttpOptions::default().ui(false),
    ));
    assert_eq!(app.get("/api/books").await.status, StatusCode::OK);
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    for page in ["/", "/rentals", "/jobs", "/sales", "/ui/static/app.css"] {
        assert_eq!(app.get(page).await.status, StatusCode::NOT_FOUND, "{page}");
    }
}
