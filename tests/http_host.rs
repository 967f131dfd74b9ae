//! The production HTTP host, in-process on the in-memory adapters: authentication,
//! roles, sessions, CSRF, login throttling, first start, load shedding, metrics,
//! request ids (into queued tasks) and ETags.
#![cfg(all(feature = "http", feature = "local"))]

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kcl::http::auth::{hash_password, AuthSettings, Role, TokenIssuer, TokenVerifier, Users};
use kcl::http::{router_with, HttpOptions};
use kcl_core::memory::MemoryBackend;
use serde_json::{json, Value};

use tower::ServiceExt;

#[path = "support/app.rs"]
mod app;
use app::{Reply, TestApp};

#[path = "support/memory.rs"]
mod support;

const SECRET: &[u8] = b"an hs256 secret of thirty-two bytes or more";

fn req(method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

fn users() -> Users {
    let line = |name: &str, role: &str, pw: &str| {
        format!("{name}:{role}:{}\n", hash_password(pw).unwrap())
    };
    Users::parse(
        &(line("ana", "admin", "ana's password") + &line("bia", "staff", "bia's password")),
    )
    .unwrap()
}

fn settings() -> AuthSettings {
    let mut s = AuthSettings::new(SECRET.to_vec()).unwrap().users(users());
    s.secure_cookies = false;
    s
}

fn app_with(settings: AuthSettings) -> TestApp {
    TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().auth(settings),
    ))
}

fn token(role: Role) -> String {
    TokenIssuer::hs256(SECRET)
        .expect("an HS256 secret")
        .issue("t", role, Duration::from_secs(300))
}

fn book() -> Value {
    json!({"title": "Dom Casmurro", "author": "Machado de Assis", "isbn": "978-85-359-1066-7",
           "year": 1899, "copies": 2})
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_roles_403() {
    let app = app_with(settings());
    let none = app.get("/api/books").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["code"], "unauthenticated");
    assert_eq!(
        none.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(none.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let key = EncodingKey::from_secret(SECRET).expect("a secret");
    let expired = sign(
        Algorithm::HS256,
        &key,
        json!({"sub": "x", "role": "admin", "exp": now() - 3600}),
    );
    let wrong_key = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another secret, also thirty-two bytes long").expect("a secret"),
        json!({"sub": "x", "role": "admin", "exp": now() + 3600}),
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(json!({"sub": "x", "role": "admin", "exp": now() + 3600}).to_string())
    );
    let hs384 = sign(
        Algorithm::HS384,
        &key,
        json!({"sub": "x", "role": "admin", "exp": now() + 3600}),
    );
    let no_exp = sign(Algorithm::HS256, &key, json!({"sub": "x", "role": "admin"}));
    for (what, t) in [
        ("expired", expired.as_str()),
        ("wrongly signed", &wrong_key),
        ("alg none", &alg_none),
        ("another algorithm", &hs384),
        ("without exp", &no_exp),
        ("malformed", "not.a.jwt"),
    ] {
        let r = app
            .send(req(Method::GET, "/api/books", Some(t), None))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert_eq!(r.body["code"], "unauthenticated", "{what}");
    }
    let basic = Request::get("/api/books")
        .header(header::AUTHORIZATION, "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);

    // Roles: reader < staff < admin.
    let (reader, staff, admin) = (token(Role::Reader), token(Role::Staff), token(Role::Admin));
    assert_eq!(
        app.send(req(Method::GET, "/api/books", Some(&reader), None))
            .await
            .status,
        200
    );
    let denied = app
        .send(req(Method::POST, "/api/books", Some(&reader), Some(book())))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["code"], "forbidden");
    let denied = app
        .send(req(Method::POST, "/api/books", Some(&staff), Some(book())))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let created = app
        .send(req(Method::POST, "/api/books", Some(&admin), Some(book())))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let rent = json!({"book_id": id, "renter": "ana"});
    let r = app
        .send(req(
            Method::POST,
            "/api/rentals",
            Some(&reader),
            Some(rent.clone()),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(req(Method::POST, "/api/rentals", Some(&staff), Some(rent)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for path in ["/api/sales/summary", "/api/audit", "/api/stock/ABC"] {
        let r = app.send(req(Method::GET, path, Some(&staff), None)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    // A valid token with no known role reads nothing.
    let roleless = sign(
        Algorithm::HS256,
        &key,
        json!({"sub": "x", "role": "owner", "exp": now() + 60}),
    );
    let r = app
        .send(req(Method::GET, "/api/books", Some(&roleless), None))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Health checks stay open.
    assert_eq!(app.get("/health/live").await.status, 200);
}

#[tokio::test]
async fn public_reads_let_anyone_read_but_not_write() {
    let mut s = settings();
    s.public_reads = true;
    let app = app_with(s);
    assert_eq!(app.get("/api/books").await.status, 200);
    let w = app
        .send(req(Method::POST, "/api/books", None, Some(book())))
        .await;
    assert_eq!(w.status, StatusCode::UNAUTHORIZED);
    // Sales stay admin-only.
    let r = app.get("/api/sales/summary").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn identity_provider_tokens_verify_with_its_public_key() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");
    let read = |f: &str| std::fs::read(format!("{dir}/{f}")).unwrap();
    for (alg, name, enc) in [
        (
            "RS256",
            "rsa",
            EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap(),
        ),
        (
            "ES256",
            "ec",
            EncodingKey::from_ec_pem(&read("ec_private.pem")).unwrap(),
        ),
    ] {
        let verifier = TokenVerifier::public_key(alg, &read(&format!("{name}_public.pem")))
            .unwrap()
            .issuer("https://idp.example");
        let app = app_with(settings().external_tokens(verifier));
        let algorithm: Algorithm = alg.parse().unwrap();
        let claims = |iss: &str| json!({"sub": "svc", "roles": ["reader", "staff"], "iss": iss, "exp": now() + 60});
        let good = sign(algorithm, &enc, claims("https://idp.example"));
        let r = app
            .send(req(Method::GET, "/api/rentals", Some(&good), None))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{alg}: {}", r.text);
        let other_issuer = sign(algorithm, &enc, claims("https://evil.example"));
        let r = app
            .send(req(Method::GET, "/api/rentals", Some(&other_issuer), None))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{alg}");
        // Algorithm confusion: HS256 signed with the public key as the secret.
        let confused = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(&read(&format!("{name}_public.pem"))).expect("a secret"),
            claims("https://idp.example"),
        );
        let r = app
            .send(req(Method::GET, "/api/rentals", Some(&confused), None))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{alg}");
    }
}

fn form(uri: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut b =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

/// `POST /login` with these form fields.
fn login(fields: &str) -> Request<Body> {
    form("/login", None, fields)
}

/// bia's (staff) right credentials, as login form fields.
const BIA: &str = "username=bia&password=bia%27s+password";

/// The `name=value` part of a reply's session cookie.
fn session_cookie(r: &Reply) -> String {
    r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn get_with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The `csrf=` value in a page's form actions.
fn csrf_of(page: &str) -> String {
    let at = page.find("csrf=").expect("a form with a CSRF token") + 5;
    page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test]
async fn the_web_ui_logs_in_with_a_session_cookie_and_checks_csrf() {
    let app = app_with(settings());
    // Not logged in: off to the login page, remembering where we were going.
    let r = app
        .send(
            Request::get("/rentals?status=active")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/login?next=/rentals%3Fstatus%3Dactive"
    );
    // A form posted without a session (it expired) goes back to the form's page.
    let post = Request::post("/ui/books/1/rent")
        .header(header::HOST, "kcl.example")
        .header(header::REFERER, "http://kcl.example/books/1")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("renter=ana"))
        .unwrap();
    let r = app.send(post).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login?next=/books/1");
    let page = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("name=\"password\""));

    let wrong = app.send(login("username=ana&password=nope&next=/")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let ok = app
        .send(login(
            "username=ana&password=ana%27s+password&next=/rentals",
        ))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(ok.headers[header::LOCATION], "/rentals");
    let set = ok.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();

    // An open redirect is refused: `next` must be a local path.
    let ok = app
        .send(login(
            "username=ana&password=ana%27s+password&next=//evil.example",
        ))
        .await;
    assert_eq!(ok.headers[header::LOCATION], "/");

    let home = app.send(get_with_cookie("/", &cookie)).await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("ana (admin)"), "{}", home.text);
    let csrf = csrf_of(&home.text);
    let fields = "title=Quincas+Borba&author=Machado&isbn=9788535910667&category=Romance&year=1891&price=10.00&copies=1&summary=";
    // Without the token, or with another session's, the form is refused.
    let r = app.send(form("/ui/books", Some(&cookie), fields)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("out of date"), "{}", r.text);
    let r = app
        .send(form("/ui/books?csrf=AAAA", Some(&cookie), fields))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(form(
            &format!("/ui/books?csrf={csrf}"),
            Some(&cookie),
            fields,
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/books/"));

    // A staff session cannot do admin things.
    let staff = app.send(login(BIA)).await;
    let staff_cookie = session_cookie(&staff);
    let staff_home = app.send(get_with_cookie("/", &staff_cookie)).await;
    let staff_csrf = csrf_of(&staff_home.text);
    let r = app
        .send(form(
            &format!("/ui/books?csrf={staff_csrf}"),
            Some(&staff_cookie),
            fields,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.send(get_with_cookie("/sales", &staff_cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Logging out ends the session, even for a copy of the cookie.
    let out = app
        .send(form(&format!("/logout?csrf={csrf}"), Some(&cookie), ""))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = app.send(get_with_cookie("/", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // A forged cookie gets nowhere.
    let r = app
        .send(get_with_cookie(
            "/",
            "kcl_session=eyJhbGciOiJIUzI1NiJ9.e30.x",
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failed_logins_are_throttled_and_tokens_issued_to_users() {
    let app = app_with(settings());
    let ask = |pw: &str| {
        req(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"username": "bia", "password": pw})),
        )
    };
    let r = app.send(ask("bia's password")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["token_type"].as_str(), r.body["role"].as_str()),
        (Some("Bearer"), Some("staff"))
    );
    let t = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.send(req(Method::GET, "/api/rentals", Some(&t), None))
            .await
            .status,
        200
    );

    for _ in 0..5 {
        let r = app.send(ask("wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["code"], "bad-credentials");
    }
    // Locked for a while, even with the right password.
    let r = app.send(ask("bia's password")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(
        r.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let r = app.send(login(BIA)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Other users are not locked out by bia's failures.
    let r = app
        .send(req(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"username": "ana", "password": "ana's password"})),
        ))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_sent_at_once_are_counted_before_their_passwords_are_checked() {
    // 40 wrong passwords for one user at once: only the first 5 (the limit) are
    // checked (401); the rest are refused before any hashing (429). Before, each was
    // checked and none was refused: the limit was bypassed, and memory grew by
    // ~19 MiB per concurrent check.
    let app = app_with(settings());
    let login = |name: &str, password: &str| {
        let body = json!({"username": name, "password": password});
        let app = app.clone();
        async move {
            app.send(req(Method::POST, "/api/auth/token", None, Some(body)))
                .await
        }
    };
    let attempts = (0..40).map(|i| login("bia", &format!("wrong {i}")));
    let replies = futures::future::join_all(attempts).await;
    let count = |s: StatusCode| replies.iter().filter(|r| r.status == s).count();
    assert_eq!(
        count(StatusCode::UNAUTHORIZED),
        5,
        "exactly the limit is checked"
    );
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 35);
    // The user stays locked, even with the right password.
    let r = login("bia", "bia's password").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Successful logins are never counted against anyone.
    for _ in 0..8 {
        let r = login("ana", "ana's password").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn first_start_generates_a_secret_and_an_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let vars = HashMap::from([("KCL_DATA_DIR".to_owned(), dir.path().display().to_string())]);
    let config = kcl::Config::from_vars(&vars).unwrap();
    let options = kcl::http_options(&config).unwrap();
    assert!(options.auth.is_some());
    let path = dir.path().join("auth.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let hash = stored["users"][0]["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "auth.json must be private, is {mode:o}");
    }
    // Again: the same file, nothing new.
    kcl::http_options(&config).unwrap();
    let again: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(stored, again);

    // PostgreSQL servers share a secret, so it must be configured.
    let pg = HashMap::from([(
        "KCL_DATABASE_URL".to_owned(),
        "postgres://db/kcl".to_owned(),
    )]);
    let err = kcl::http_options(&kcl::Config::from_vars(&pg).unwrap()).unwrap_err();
    assert!(err.contains("KCL_AUTH_JWT_SECRET"), "{err}");
    let short = HashMap::from([("KCL_AUTH_JWT_SECRET".to_owned(), "short".to_owned())]);
    let err = kcl::Config::from_vars(&short).unwrap_err();
    assert_eq!(err.variable, "KCL_AUTH_JWT_SECRET");
    assert!(
        !err.to_string().contains("short"),
        "the secret must not be echoed: {err}"
    );
}

#[tokio::test]
async fn over_the_in_flight_limit_requests_are_shed_with_retry_after() {
    let app = TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().max_in_flight(1),
    ));
    // A request whose body never finishes holds the only slot.
    let (tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let slow = Request::post("/api/books")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(rx))
        .unwrap();
    let held = tokio::spawn(app.router().clone().oneshot(slow));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = app.get("/api/books").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["code"], "overloaded");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Health checks are never shed.
    assert_eq!(app.get("/health/live").await.status, 200);
    drop(tx);
    let _ = held.await;
    assert_eq!(app.get("/api/books").await.status, 200);
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_show_queues() {
    let app = TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default().metrics(kcl::http::metrics::MetricsExport::InstallPrometheus),
    ));
    for _ in 0..3 {
        app.get("/api/books?limit=5").await;
    }
    app.get("/api/books/not-a-uuid").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let line = r
        .text
        .lines()
        .find(|l| {
            l.starts_with("kcl_http_requests_total")
                && l.contains(r#"route="/api/books""#)
                && l.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no request counter in\n{}", r.text));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 3.0, "{line}");
    assert!(
        r.text.contains(r#"route="/api/books/{id}""#),
        "routes are patterns, not ids"
    );
    assert!(r.text.contains("kcl_http_request_duration_seconds_bucket"));
    assert!(
        r.text
            .contains(r#"kcl_queue_messages{queue="thumbnail",state="visible"}"#),
        "{}",
        r.text
    );
    assert!(r.text.contains("kcl_cache_requests_total"), "{}", r.text);
}

#[tokio::test]
async fn every_response_forbids_framing_and_sniffing() {
    let app = app_with(settings());
    for uri in ["/login", "/api/books", "/health/live", "/no-such-page"] {
        let r = app.send(req(Method::GET, uri, None, None)).await;
        assert_eq!(r.headers["x-frame-options"], "DENY", "{uri}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(r.headers["referrer-policy"], "same-origin", "{uri}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default(),
    ));
    let r = app.get("/health/live").await;
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let mine = Request::get("/api/books")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(mine).await.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn book_reads_carry_an_etag_that_changes_with_the_book() {
    let app = TestApp::new(router_with(
        MemoryBackend::new().services(),
        HttpOptions::default(),
    ));
    let created = app
        .send(req(Method::POST, "/api/books", None, Some(book())))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/books/{id}");
    let first = app.send(req(Method::GET, &uri, None, None)).await;
    let tag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    let cond = |tag: &str| {
        Request::get(&uri)
            .header(header::IF_NONE_MATCH, tag)
            .body(Body::empty())
            .unwrap()
    };
    let same = app.send(cond(&tag)).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert!(same.text.is_empty());
    assert_eq!(same.headers[header::ETAG], tag.as_str());
    // Renting a copy changes `available`, so the tag.
    let rent = json!({"book_id": id, "renter": "ana"});
    assert_eq!(
        app.send(req(Method::POST, "/api/rentals", None, Some(rent)))
            .await
            .status,
        201
    );
    let changed = app.send(cond(&tag)).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers[header::ETAG], tag.as_str());
    assert_eq!(changed.body["available"], 1);
}

#[tokio::test]
async fn the_request_id_travels_with_the_task_it_queues() {
    let kcl = support::memory_kcl().await;
    let app = TestApp::new(router_with(kcl.services.clone(), HttpOptions::default()));
    let created = app
        .send(req(Method::POST, "/api/books", None, Some(book())))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(8, 8)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let upload = Request::post(format!("/api/books/{id}/cover"))
        .header(header::CONTENT_TYPE, "image/png")
        .header("x-request-id", "trace-7")
        .body(Body::from(png.into_inner()))
        .unwrap();
    let r = app.send(upload).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let (_, queue) = kcl
        .services
        .queues
        .iter()
        .find(|(k, _)| *k == "thumbnail")
        .unwrap();
    let got = queue.receive(1, Duration::ZERO).await.unwrap();
    let task: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(task["request_id"], "trace-7", "{task}");
}

#[tokio::test]
async fn servers_sharing_a_cache_share_logouts_and_failed_logins() {
    // Two servers over one cache (as behind a balancer with Redis), and a third with
    // its own.
    let cache: std::sync::Arc<dyn kcl::ports::Cache> =
        std::sync::Arc::new(kcl_core::memory::MemoryCache::default());
    let server = |cache: std::sync::Arc<dyn kcl::ports::Cache>| {
        let mut services = MemoryBackend::new().services();
        services.cache = cache;
        TestApp::new(router_with(
            services,
            HttpOptions::default().auth(settings()),
        ))
    };
    let (a, b) = (server(cache.clone()), server(cache));
    let alone = server(std::sync::Arc::new(kcl_core::memory::MemoryCache::default()));

    let r = a.send(login(BIA)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    let home = b.send(get_with_cookie("/", &cookie)).await;
    assert_eq!(home.status, StatusCode::OK, "B accepts A's session");
    let csrf = csrf_of(&home.text);
    let out = a
        .send(form(&format!("/logout?csrf={csrf}"), Some(&cookie), ""))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    for (name, app) in [("A", &a), ("B", &b)] {
        let r = app.send(get_with_cookie("/", &cookie)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{name} refuses it now");
    }
    // What is not shared stays per server: the third server never heard of it.
    let r = alone.send(get_with_cookie("/", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);

    // Five failures split between A and B throttle the user on both.
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        let r = app.send(login("username=bia&password=nope")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    for app in [&a, &b] {
        let r = app.send(login(BIA)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers.contains_key(header::RETRY_AFTER));
    }
    let r = alone.send(login(BIA)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "not throttled elsewhere");
}
