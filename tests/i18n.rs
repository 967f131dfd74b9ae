//! The UI's language: pages and problem titles in English or Brazilian Portuguese
//! by the visitor's choice (the language link's cookie), the server's
//! `KCL_LOCALE`, or the browser's `Accept-Language`; amounts in `KCL_CURRENCY`.
#![cfg(feature = "http")]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kcl::http::{router_with, HttpOptions};
use kcl_core::domain::{Currency, Locale};
use kcl_core::memory::MemoryBackend;
use serde_json::json;

#[path = "support/app.rs"]
mod app;
use app::{Reply, TestApp};

fn app(options: HttpOptions) -> TestApp {
    TestApp::new(router_with(MemoryBackend::new().services(), options))
}

async fn get(app: &TestApp, uri: &str, headers: &[(header::HeaderName, &str)]) -> Reply {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

fn lang(r: &Reply) -> &str {
    r.text
        .split("<html lang=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
}

async fn add_book(app: &TestApp, price_cents: i64) {
    let created = app
        .call(
            Method::POST,
            "/api/books",
            Some(json!({
                "title": "Dom Casmurro", "author": "Machado de Assis",
                "isbn": "978-85-359-1066-7", "category": "Romance", "year": 1899,
                "price_cents": price_cents, "copies": 3000,
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

#[tokio::test]
async fn the_browser_language_chooses_the_pages_language() {
    let app = app(HttpOptions::default());
    add_book(&app, 123_456).await;

    let pt = get(
        &app,
        "/",
        &[(header::ACCEPT_LANGUAGE, "pt-BR,pt;q=0.9,en;q=0.8")],
    )
    .await;
    assert_eq!(pt.status, StatusCode::OK);
    assert_eq!(lang(&pt), "pt-BR");
    assert_eq!(pt.headers[header::CONTENT_LANGUAGE], "pt-BR");
    let vary: Vec<_> = pt.headers.get_all(header::VARY).iter().collect();
    assert!(
        vary.iter()
            .any(|v| v.to_str().unwrap().contains("accept-language")),
        "{vary:?}"
    );
    for words in [
        "Catálogo",
        "Adicionar um livro",
        "Título",
        "Buscar",
        "Aluguéis",
    ] {
        assert!(pt.text.contains(words), "{words}: {}", pt.text);
    }
    // Amounts in reais the Brazilian way, quantities grouped with dots.
    assert!(pt.text.contains("R$ 1.234,56"), "{}", pt.text);
    assert!(pt.text.contains("3.000 / 3.000"), "{}", pt.text);
    assert!(!pt.text.contains("Add a book"));
    // The other language is one link away, named in itself.
    assert!(pt.text.contains("hreflang=\"en\""), "{}", pt.text);
    assert!(pt.text.contains(">English</a>"), "{}", pt.text);

    let en = get(&app, "/", &[(header::ACCEPT_LANGUAGE, "en-GB")]).await;
    assert_eq!(lang(&en), "en");
    assert!(en.text.contains("Add a book") && en.text.contains("R$1,234.56"));
    assert!(en.text.contains("3,000 / 3,000"), "{}", en.text);
    assert!(en.text.contains(">Português</a>"), "{}", en.text);

    // A language KCL does not speak, or none at all: English.
    for accept in ["de-DE, fr;q=0.8", "*", ""] {
        let r = get(&app, "/", &[(header::ACCEPT_LANGUAGE, accept)]).await;
        assert_eq!(lang(&r), "en", "{accept:?}");
        assert_eq!(r.headers[header::CONTENT_LANGUAGE], "en");
    }
    assert_eq!(lang(&app.get("/rentals").await), "en");
}

#[tokio::test]
async fn problem_titles_follow_the_language_and_codes_do_not() {
    let app = app(HttpOptions::default());
    let pt = get(
        &app,
        "/api/books/not-a-uuid",
        &[(header::ACCEPT_LANGUAGE, "pt-BR")],
    )
    .await;
    assert_eq!(pt.status, StatusCode::BAD_REQUEST);
    assert_eq!(pt.content_type, "application/problem+json");
    assert_eq!(pt.body["title"], "Requisição inválida", "{}", pt.text);
    assert_eq!(pt.body["code"], "bad-path");
    assert_eq!(pt.body["type"], "/problems/bad-path");
    assert_eq!(pt.headers[header::CONTENT_LANGUAGE], "pt-BR");
    let missing = get(&app, "/no/such/route", &[(header::ACCEPT_LANGUAGE, "pt")]).await;
    assert_eq!(missing.body["title"], "Não encontrado", "{}", missing.text);
    let en = app.get("/api/books/not-a-uuid").await;
    assert_eq!(en.body["title"], "Bad Request");
    assert_eq!(en.headers[header::CONTENT_LANGUAGE], "en");
    // An error page, in Portuguese.
    let page = get(
        &app,
        "/books/not-a-uuid",
        &[(header::ACCEPT_LANGUAGE, "pt-BR")],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text.contains("Algo deu errado"), "{}", page.text);
}

#[tokio::test]
async fn the_language_link_keeps_the_choice_over_the_browser_and_the_setting() {
    // The server says English; a visitor chooses Portuguese.
    let app = app(HttpOptions::default().locale(Locale::En));
    let browser = [(header::ACCEPT_LANGUAGE, "pt-BR")];
    assert_eq!(lang(&get(&app, "/rentals", &browser).await), "en");

    let chose = app
        .get("/ui/lang/pt-BR?back=/rentals%3Fstatus%3Dreturned")
        .await;
    assert_eq!(chose.status, StatusCode::SEE_OTHER, "{}", chose.text);
    assert_eq!(chose.location.as_deref(), Some("/rentals?status=returned"));
    let cookie = chose.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("kcl_lang=pt-BR;"), "{cookie}");
    assert!(
        cookie.contains("Path=/;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();

    let page = get(&app, "/rentals", &[(header::COOKIE, pair)]).await;
    assert_eq!(lang(&page), "pt-BR");
    assert!(page.text.contains("Atrasados"), "{}", page.text);
    assert!(page.text.contains(">English</a>"));
    // The link back to English, to come back to this very page.
    assert!(
        page.text.contains("/ui/lang/en?back=/rentals"),
        "{}",
        page.text
    );

    // Only pages of this site, never another one.
    for back in [
        "//evil.example/",
        "https://evil.example/",
        "/%09/evil.example",
    ] {
        let r = app
            .get(&format!("/ui/lang/en?back={}", back.replace('/', "%2F")))
            .await;
        assert_eq!(r.location.as_deref(), Some("/"), "{back}");
    }
    let unknown = app.get("/ui/lang/klingon").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.text.contains("klingon"), "{}", unknown.text);
    assert!(unknown.headers.get(header::SET_COOKIE).is_none());

    // The server's setting beats the browser's language.
    let pt_server = self::app(HttpOptions::default().locale(Locale::PtBr));
    let r = get(&pt_server, "/", &[(header::ACCEPT_LANGUAGE, "en")]).await;
    assert_eq!(lang(&r), "pt-BR");
}

#[tokio::test]
async fn amounts_are_in_the_servers_currency() {
    let usd = app(HttpOptions::default().currency(Currency::parse("USD").unwrap()));
    add_book(&usd, 123_456).await;
    let en = usd.get("/").await;
    assert!(en.text.contains("$1,234.56"), "{}", en.text);
    assert!(!en.text.contains("R$"));
    let pt = get(&usd, "/", &[(header::ACCEPT_LANGUAGE, "pt-BR")]).await;
    assert!(pt.text.contains("US$ 1.234,56"), "{}", pt.text);
}

#[tokio::test]
async fn under_a_base_path_the_link_and_cookie_stay_under_it() {
    let options = HttpOptions::default().base_path("/library").unwrap();
    let kcl = router_with(MemoryBackend::new().services(), options);
    let app = TestApp::new(axum::Router::new().nest("/library", kcl));
    let page = app.get("/library/rentals").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text
            .contains("href=\"/library/ui/lang/pt-BR?back=/rentals\""),
        "{}",
        page.text
    );
    let chose = app.get("/library/ui/lang/pt-BR?back=/rentals").await;
    assert_eq!(chose.location.as_deref(), Some("/library/rentals"));
    let cookie = chose.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("Path=/library;"), "{cookie}");
}

#[test]
fn the_configuration_names_the_variable_at_fault() {
    let vars = |pairs: &[(&str, &str)]| {
        let mut v = std::collections::HashMap::from([(
            "KCL_DATA_DIR".to_owned(),
            "/tmp/kcl-i18n-test".to_owned(),
        )]);
        for (k, val) in pairs {
            v.insert((*k).to_owned(), (*val).to_owned());
        }
        v
    };
    let e = kcl::Config::from_vars(&vars(&[("KCL_LOCALE", "fr")])).unwrap_err();
    assert_eq!(e.variable, "KCL_LOCALE");
    assert!(e.to_string().contains("KCL_LOCALE"), "{e}");
    let e = kcl::Config::from_vars(&vars(&[("KCL_CURRENCY", "reais")])).unwrap_err();
    assert_eq!(e.variable, "KCL_CURRENCY");
    let c = kcl::Config::from_vars(&vars(&[
        ("KCL_CURRENCY", "usd"),
        ("KCL_LOCALE", "pt-BR"),
        ("KCL_AUTH", "off"),
    ]))
    .unwrap();
    let options = kcl::http_options(&c).unwrap();
    assert_eq!(options.locale, Some(Locale::PtBr));
    assert_eq!(options.currency.code(), "USD");
    // Unset: each browser's language.
    let c = kcl::Config::from_vars(&vars(&[("KCL_AUTH", "off")])).unwrap();
    assert_eq!(kcl::http_options(&c).unwrap().locale, None);
}
