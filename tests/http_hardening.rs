//! Hardening of the HTTP host: what a refused bearer token is told (fixed texts,
//! never the token library's), the optional `/metrics` token, and the
//! Content-Security-Policy of the pages with their style and script served as files.
#![cfg(all(feature = "http", feature = "local"))]

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kcl::http::auth::{hash_password, AuthSettings, Role, TokenIssuer, TokenVerifier, Users};
use kcl::http::{router_with, HttpOptions};
use kcl_core::memory::MemoryBackend;
use serde_json::{json, Value};

#[path = "support/app.rs"]
mod app;
use app::TestApp;

const SECRET: &[u8] = b"an hs256 secret of thirty-two bytes or more";

fn get(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(Method::GET).uri(uri);
    if let Some(a) = authorization {
        b = b.header(header::AUTHORIZATION, a);
    }
    b.body(Body::empty()).unwrap()
}

fn settings() -> AuthSettings {
    let users = Users::parse(&format!(
        "ana:admin:{}\n",
        hash_password("ana's password").unwrap()
    ))
    .unwrap();
    let mut s = AuthSettings::new(SECRET.to_vec()).unwrap().users(users);
    s.secure_cookies = false;
    s
}

fn app(options: HttpOptions) -> TestApp {
    TestApp::new(router_with(MemoryBackend::new().services(), options))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
}

/// The only details a refused token gets.
const DETAILS: [&str; 4] = [
    "the token is not valid",
    "the token was not issued for this service",
    "the token is not valid yet",
    "the token has expired",
];

#[tokio::test]
async fn refused_tokens_are_told_why_in_fixed_words() {
    let app = app(HttpOptions::default().auth(settings().issuer("https://kcl.example")));
    let key = EncodingKey::from_secret(SECRET).expect("a secret");
    let claims = |extra: Value| {
        let mut c = json!({"sub": "x", "role": "admin", "exp": now() + 3600,
                           "iss": "https://kcl.example"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let other_key =
        EncodingKey::from_secret(b"another secret, also thirty-two bytes long").expect("a secret");
    let cases = [
        (
            "expired",
            sign(Algorithm::HS256, &key, claims(json!({"exp": now() - 3600}))),
            "the token has expired",
        ),
        (
            "not before an hour from now",
            sign(Algorithm::HS256, &key, claims(json!({"nbf": now() + 3600}))),
            "the token is not valid yet",
        ),
        (
            "another issuer",
            sign(
                Algorithm::HS256,
                &key,
                claims(json!({"iss": "https://evil.example"})),
            ),
            "the token was not issued for this service",
        ),
        (
            "wrongly signed",
            sign(Algorithm::HS256, &other_key, claims(json!({}))),
            "the token is not valid",
        ),
        (
            "wrongly signed and expired",
            sign(
                Algorithm::HS256,
                &other_key,
                claims(json!({"exp": now() - 3600})),
            ),
            "the token is not valid",
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(&claims(json!({})).to_string())
            ),
            "the token is not valid",
        ),
        (
            "another algorithm",
            sign(Algorithm::HS384, &key, claims(json!({}))),
            "the token is not valid",
        ),
        (
            "without exp",
            sign(Algorithm::HS256, &key, claims(json!({"exp": null}))),
            "the token is not valid",
        ),
        (
            "malformed",
            "not.a.jwt".to_owned(),
            "the token is not valid",
        ),
        (
            "not base64",
            "%%%.%%%.%%%".to_owned(),
            "the token is not valid",
        ),
    ];
    for (what, token, detail) in cases {
        let r = app
            .send(get("/api/books", Some(&format!("Bearer {token}"))))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        let p = r.body;
        assert_eq!(p["code"], "unauthenticated", "{what}");
        assert_eq!(p["detail"], detail, "{what}");
    }
    // A good token still gets in.
    let good = sign(Algorithm::HS256, &key, claims(json!({})));
    let r = app
        .send(get("/api/books", Some(&format!("Bearer {good}"))))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// With an identity provider's key too, a token is told the more telling of the two
/// refusals: an expired token of ours is `expired`, not `not valid` from the other
/// key.
#[tokio::test]
async fn with_two_keys_the_telling_refusal_wins() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");
    let read = |f: &str| std::fs::read(format!("{dir}/{f}")).unwrap();
    let verifier = TokenVerifier::public_key("RS256", &read("rsa_public.pem")).unwrap();
    let app = app(HttpOptions::default().auth(settings().external_tokens(verifier)));
    let rsa = EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap();
    let hs = EncodingKey::from_secret(SECRET).expect("a secret");
    for (what, token, detail) in [
        (
            "ours, expired",
            sign(
                Algorithm::HS256,
                &hs,
                json!({"sub": "x", "role": "admin", "exp": now() - 3600}),
            ),
            "the token has expired",
        ),
        (
            "the provider's, expired",
            sign(
                Algorithm::RS256,
                &rsa,
                json!({"sub": "x", "role": "admin", "exp": now() - 3600}),
            ),
            "the token has expired",
        ),
        (
            "nobody's",
            sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(b"another secret, also thirty-two bytes long")
                    .expect("a secret"),
                json!({"sub": "x", "role": "admin", "exp": now() + 3600}),
            ),
            "the token is not valid",
        ),
    ] {
        let r = app
            .send(get("/api/books", Some(&format!("Bearer {token}"))))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.body["detail"], detail, "{what}");
        assert!(DETAILS.contains(&detail));
    }
    let fresh = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "ana",
        Role::Reader,
        Duration::from_secs(60),
    );
    let r = app
        .send(get("/api/books", Some(&format!("Bearer {fresh}"))))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// `/metrics`: public without a token (as before); with `KCL_METRICS_TOKEN` (here from
/// its `_FILE` form, through the server's own options) only with that bearer token.
#[tokio::test]
async fn metrics_want_their_token_when_one_is_set() {
    let open = app(HttpOptions::default()
        .metrics(kcl::http::metrics::MetricsExport::InstallPrometheus)
        .auth(settings()));
    let r = open.send(get("/metrics", None)).await;
    assert_eq!(r.status, StatusCode::OK, "public without a token");
    assert!(r.text.contains("kcl_build_info"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics-token");
    std::fs::write(&file, "scrape-token-0123456789abcdef\n").unwrap();
    let vars = std::collections::HashMap::from([
        ("KCL_DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("KCL_DATABASE_URL".to_owned(), "memory://".to_owned()),
        ("KCL_BLOBS".to_owned(), "memory://".to_owned()),
        (
            "KCL_AUTH_JWT_SECRET".to_owned(),
            String::from_utf8(SECRET.to_vec()).unwrap(),
        ),
        (
            "KCL_METRICS_TOKEN_FILE".to_owned(),
            file.display().to_string(),
        ),
    ]);
    let config = kcl::Config::from_vars(&vars).unwrap();
    let options = kcl::http_options(&config).unwrap();
    let guarded = TestApp::new(router_with(MemoryBackend::new().services(), options));
    let admin = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "ana",
        Role::Admin,
        Duration::from_secs(60),
    );
    for (what, authorization) in [
        ("no token", None),
        (
            "a wrong token",
            Some("Bearer scrape-token-0123456789abcdeX".to_owned()),
        ),
        (
            "a longer token",
            Some("Bearer scrape-token-0123456789abcdef0".to_owned()),
        ),
        ("an API token", Some(format!("Bearer {admin}"))),
        ("basic auth", Some("Basic c2NyYXBlOnRva2Vu".to_owned())),
    ] {
        let r = guarded
            .send(get("/metrics", authorization.as_deref()))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.body["code"], "unauthenticated", "{what}");
        assert!(r.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        assert!(!r.text.contains("kcl_"), "{what}: {}", r.text);
    }
    let r = guarded
        .send(get(
            "/metrics",
            Some("Bearer scrape-token-0123456789abcdef"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("kcl_build_info"), "{}", r.text);
    // Health checks stay open.
    assert_eq!(
        guarded.send(get("/health", None)).await.status,
        StatusCode::OK
    );
}

/// Logs `ana` in through the form: the session cookie.
async fn login(app: &TestApp) -> String {
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=ana&password=ana%27s+password"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let c = r.headers[header::SET_COOKIE].to_str().unwrap();
    c.split(';').next().unwrap().to_owned()
}

fn with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The values of `attr="..."` in a page.
fn attribute_values<'a>(page: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    page.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &page[at + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// Every page carries a Content-Security-Policy without `'unsafe-inline'`, and holds
/// no inline style or script for it to block: the style sheet and the script are
/// files, served without a login, with their types and a year's caching under
/// their versioned URLs.
#[tokio::test]
async fn pages_carry_a_strict_csp_and_inline_nothing() {
    let backend = MemoryBackend::new();
    let app = TestApp::new(router_with(
        backend.services(),
        HttpOptions::default().auth(settings()),
    ));
    let cookie = login(&app).await;
    let admin = TokenIssuer::hs256(SECRET).expect("an HS256 secret").issue(
        "ana",
        Role::Admin,
        Duration::from_secs(60),
    );
    let created = app
        .send(
            Request::post("/api/books")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"title": "Dom Casmurro", "author": "Machado de Assis",
                       "isbn": "978-85-359-1066-7", "year": 1899, "copies": 2})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let mut assets = std::collections::BTreeSet::new();
    // Each page, and whether it loads the script (error pages do, for their "Back"
    // link; pages whose work runs do, to reload: see tests/e2e_browser.rs).
    let pages = [
        ("/login".to_owned(), false),
        ("/".to_owned(), false),
        (format!("/books/{id}"), false),
        ("/rentals".to_owned(), false),
        ("/jobs".to_owned(), false),
        ("/sales".to_owned(), false),
        ("/api/docs".to_owned(), false),
        ("/books/not-a-uuid".to_owned(), true),
    ];
    for (path, scripted) in &pages {
        let r = app.send(with_cookie(path, &cookie)).await;
        let page = r.text;
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        for inline in [
            "<style",
            " style=\"",
            "javascript:",
            " onclick=",
            " onload=",
        ] {
            assert!(!page.contains(inline), "{path} holds {inline:?}");
        }
        // Scripts only by src, with nothing inline.
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=\"/ui/static/").count(),
            "{path}"
        );
        let links = attribute_values(&page, "href");
        let css = links
            .iter()
            .find(|h| h.starts_with("/ui/static/app.css?v="))
            .unwrap_or_else(|| panic!("{path}: no style sheet"));
        assets.insert((css.to_string(), "text/css"));
        let pico = links
            .iter()
            .find(|h| h.starts_with("/ui/static/pico.css?v="))
            .unwrap_or_else(|| panic!("{path}: no Pico style sheet"));
        assets.insert((pico.to_string(), "text/css"));
        let js = attribute_values(&page, "src")
            .into_iter()
            .find(|s| s.starts_with("/ui/static/app.js?v="));
        assert_eq!(js.is_some(), *scripted, "{path}: the script");
        if let Some(js) = js {
            assert!(page.contains("data-back"), "{path}");
            assets.insert((js.to_owned(), "text/javascript"));
        }
    }
    assert_eq!(
        assets.len(),
        3,
        "every page links the same files: {assets:?}"
    );
    for (url, content_type) in &assets {
        // Without a login: the login page needs them.
        let r = app.send(get(url, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}");
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{url}"
        );
        assert_eq!(
            r.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{url}"
        );
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!r.bytes.is_empty());
        // Another version (an old page's link): served, but not cached for long.
        let old = format!("{}?v=0000", url.split('?').next().unwrap());
        let r = app.send(get(&old, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{old}");
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-cache", "{old}");
    }
    let css = app.send(get(&assets.iter().next().unwrap().0, None)).await;
    assert!(css.text.contains("img.thumb"), "the former inline styles");
    assert_eq!(
        app.send(get("/ui/static/other.js", None)).await.status,
        StatusCode::NOT_FOUND
    );
}
