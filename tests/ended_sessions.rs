//! A logged-out session stays logged out: its copied cookie is refused after the
//! server restarts (the same data directory, the same PostgreSQL database) and after
//! the shared cache (Redis) is flushed, because logouts are recorded in the database.
//!
//! The server is what `serve_from_env` builds (`Kcl::open` and `kcl::http_options`
//! from the configuration), driven in-process; a restart closes it and opens it
//! again. The PostgreSQL case needs `KCL_TEST_POSTGRES_URL` and `KCL_TEST_REDIS_URL`
//! (it flushes only Redis database [`REDIS_DB`], which no other test uses).
#![cfg(all(feature = "http", feature = "local"))]

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use kcl::http::auth::hash_password;
use kcl::{Config, Kcl};
use tower::ServiceExt;

#[path = "support/app.rs"]
mod app;
use app::TestApp;

#[cfg(feature = "aws")]
use kcl_aws::testkit::TestDatabase;

const PASSWORD: &str = "ana's long passphrase";

/// A running server: the stores and the router over them.
struct Server {
    kcl: Kcl,
    app: TestApp,
}

impl Server {
    async fn start(config: &Config) -> Self {
        let options = kcl::http_options(config).expect("http options");
        let kcl = Kcl::open(config).await.expect("open");
        let app = TestApp::new(kcl::http::router_with(kcl.services.clone(), options));
        Self { kcl, app }
    }

    /// Stops it: nothing of this process's memory is left.
    async fn stop(self) {
        drop(self.app);
        self.kcl.close().await;
    }

    /// Logs `ana` in through the form; the session cookie (`name=value`).
    async fn login(&self) -> String {
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "username=ana&password=ana%27s+long+passphrase&next=/",
            ))
            .unwrap();
        let r = self.app.send(req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    /// What the catalog page answers to `cookie`: `Ok(page)`, or `Err(Location)`
    /// of a redirect.
    async fn home(&self, cookie: &str) -> Result<String, String> {
        let req = Request::get("/")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let r = self.app.send(req).await;
        match r.status {
            StatusCode::OK => Ok(r.text),
            StatusCode::SEE_OTHER => Err(r.location.expect("a Location")),
            other => panic!("GET / answered {other}: {}", r.text),
        }
    }

    /// What the API answers to `cookie`.
    async fn api(&self, cookie: &str) -> StatusCode {
        let req = Request::get("/api/books")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.app.send(req).await.status
    }

    /// Logs the session out with the nav's form (its CSRF token from the page).
    async fn logout(&self, cookie: &str) {
        let page = self.home(cookie).await.expect("logged in");
        let at = page.find("csrf=").expect("a form with a CSRF token") + 5;
        let csrf: String = page[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let req = Request::post(format!("/logout?csrf={csrf}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let r = self.app.send(req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location.as_deref(), Some("/login"));
    }

    /// Asserts the session of `cookie` is refused, on a page and on the API.
    async fn refuses(&self, cookie: &str, when: &str) {
        let to = self
            .home(cookie)
            .await
            .expect_err(&format!("{when}: a logged-out cookie got the catalog"));
        assert!(to.starts_with("/login"), "{when}: redirected to {to}");
        assert_eq!(self.api(cookie).await, StatusCode::UNAUTHORIZED, "{when}");
    }
}

/// A users file with `ana` (admin) in `dir`.
fn users_file(dir: &std::path::Path) -> String {
    let path = dir.join("users");
    std::fs::write(
        &path,
        format!("ana:admin:{}\n", hash_password(PASSWORD).unwrap()),
    )
    .unwrap();
    path.display().to_string()
}

fn config(vars: &[(&str, String)]) -> Config {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Config::from_vars(&vars).expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_outlives_a_restart_on_the_embedded_profile() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded profile's own secret: generated into the data directory at the
    // first start, read again at the next.
    let config = config(&[
        (
            "KCL_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("KCL_AUTH_USERS", users_file(dir.path())),
    ]);
    let server = Server::start(&config).await;
    let (out, kept) = (server.login().await, server.login().await);
    server.home(&out).await.expect("logged in");
    server.logout(&out).await;
    server.refuses(&out, "after the logout").await;
    server.stop().await;

    let server = Server::start(&config).await;
    server.refuses(&out, "after a restart").await;
    // The restart itself ends no session: the other one still works.
    server.home(&kept).await.expect("a session not logged out");
    assert_eq!(server.api(&kept).await, StatusCode::OK);
    // Logging out again after the restart is fine too.
    server.logout(&kept).await;
    server.refuses(&kept, "after its logout").await;
    server.stop().await;
}

/// Redis database this test flushes (no other test uses it).
#[cfg(feature = "aws")]
const REDIS_DB: u8 = 11;

/// Sends one Redis command (RESP) to `addr` and returns the reply's first line.
#[cfg(feature = "aws")]
async fn redis(addr: &str, args: &[&str]) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("redis");
    // SELECT REDIS_DB, then the command, pipelined on one connection.
    let db = REDIS_DB.to_string();
    let mut cmd = String::new();
    for command in [&["SELECT", db.as_str()][..], args] {
        cmd.push_str(&format!("*{}\r\n", command.len()));
        for a in command {
            cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
    }
    conn.write_all(cmd.as_bytes()).await.expect("redis write");
    let mut lines = BufReader::new(conn).lines();
    let selected = lines.next_line().await.expect("redis read");
    assert_eq!(selected.as_deref(), Some("+OK"), "SELECT {REDIS_DB}");
    lines
        .next_line()
        .await
        .expect("redis read")
        .unwrap_or_default()
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_outlives_restarts_and_a_redis_flush_on_postgres() {
    let Some(redis_url) = kcl_core::testkit::services::redis_url() else {
        return;
    };
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();
    let host_port = redis_url
        .strip_prefix("redis://")
        .expect("KCL_TEST_REDIS_URL is redis://host:port")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let common = [
        ("KCL_DATABASE_URL", url),
        ("KCL_BLOBS", "memory://".to_owned()),
        (
            "KCL_AUTH_JWT_SECRET",
            "a secret every server of the deployment shares".to_owned(),
        ),
        ("KCL_AUTH_USERS", users_file(dir.path())),
    ];
    let with_redis = config(
        &[
            &common[..],
            &[("KCL_CACHE_URL", format!("redis://{host_port}/{REDIS_DB}"))],
        ]
        .concat(),
    );
    // Two servers behind a balancer, one Redis, one database.
    let (a, b) = (
        Server::start(&with_redis).await,
        Server::start(&with_redis).await,
    );
    let (out, kept) = (a.login().await, a.login().await);
    b.home(&out).await.expect("B accepts A's session");
    a.logout(&out).await;
    b.refuses(&out, "on B, after the logout on A").await;
    let keys: u64 = redis(&host_port, &["DBSIZE"])
        .await
        .trim_start_matches(':')
        .parse()
        .expect("DBSIZE");
    assert!(keys > 0, "the logout went through Redis too");

    // Both restart, and Redis loses everything.
    a.stop().await;
    b.stop().await;
    assert_eq!(redis(&host_port, &["FLUSHDB"]).await, "+OK");
    assert_eq!(redis(&host_port, &["DBSIZE"]).await, ":0");
    let (a, b) = (
        Server::start(&with_redis).await,
        Server::start(&with_redis).await,
    );
    a.refuses(&out, "on A, after restarts and a Redis flush")
        .await;
    b.refuses(&out, "on B, after restarts and a Redis flush")
        .await;
    b.home(&kept).await.expect("a session not logged out");

    // A server without the shared cache knows it from the database alone.
    let alone = Server::start(&config(&common)).await;
    alone.refuses(&out, "on a server without Redis").await;
    alone.home(&kept).await.expect("a session not logged out");
    for s in [a, b, alone] {
        s.stop().await;
    }
    db.drop_now().await;
}

/// Ended sessions whose database does not answer.
struct Down;

#[async_trait::async_trait]
impl kcl::ports::EndedSessions for Down {
    async fn end(
        &self,
        _: &str,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), kcl::ports::EndedSessionsError> {
        Err(kcl::ports::EndedSessionsError::Unavailable("down".into()))
    }
    async fn is_ended(&self, _: &str) -> Result<bool, kcl::ports::EndedSessionsError> {
        Err(kcl::ports::EndedSessionsError::Unavailable("down".into()))
    }
    async fn purge(
        &self,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, kcl::ports::EndedSessionsError> {
        Err(kcl::ports::EndedSessionsError::Unavailable("down".into()))
    }
}

/// While the database cannot say whether a session was logged out, a request with
/// its cookie that needs a login is answered 503, never let in unchecked.
#[tokio::test]
async fn a_session_that_cannot_be_checked_gets_503() {
    let mut services = kcl::memory::MemoryBackend::new().services();
    services.ended_sessions = std::sync::Arc::new(Down);
    let mut settings = kcl::http::auth::AuthSettings::new(vec![7; 32])
        .unwrap()
        .users(
            kcl::http::auth::Users::parse(&format!(
                "ana:admin:{}\n",
                hash_password(PASSWORD).unwrap()
            ))
            .unwrap(),
        );
    settings.secure_cookies = false;
    let app = kcl::http::router_with(services, kcl::http::HttpOptions::default().auth(settings));
    let send = |req: Request<Body>| {
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap() }
    };
    let res = send(
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("username=ana&password=ana%27s+long+passphrase"))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let get = |path: &str| {
        Request::get(path)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap()
    };
    let page = send(get("/")).await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let api = send(get("/api/books")).await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(api.headers().contains_key(header::RETRY_AFTER));
    // The login page is public: shown as to someone logged out.
    assert_eq!(send(get("/login")).await.status(), StatusCode::OK);
    let out = send(
        Request::post("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    // A logout needs a checked session (and its CSRF token) like any form post.
    assert_eq!(out.status(), StatusCode::SERVICE_UNAVAILABLE);
}
