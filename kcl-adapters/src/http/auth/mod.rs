//! Authentication and roles for the HTTP host.
//!
//! - **API**: `Authorization: Bearer <JWT>`. HS256 tokens signed with the server's
//!   secret (`POST /api/auth/token` issues them to configured users), and, when
//!   configured, tokens of an identity provider checked with its public key (RS256,
//!   ES256, ...). Expired, malformed, wrongly signed and `alg: none` tokens get `401`;
//!   a valid token without the needed role gets `403`.
//! - **Web UI**: a login form against configured users (argon2 hashes), a signed
//!   `HttpOnly; SameSite=Strict` session cookie, a CSRF token on every form, logout
//!   (recorded in the database: a copied cookie stays refused after a restart or a
//!   cache flush), and failed logins limited per user and per client address.
//! - **Roles**: `admin` ⊇ `staff` ⊇ `reader`. Admins manage the catalog, OCR jobs,
//!   sales, stock, reports and the audit log; staff rent and return copies and upload
//!   covers; readers read the catalog, rentals and jobs. Reads need `reader` unless
//!   [`AuthSettings::public_reads`] is set. See [`access`] for the whole table.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use axum::body::Body;
//! use axum::http::Request;
//! use kcl_adapters::http::auth::{AuthSettings, Role, TokenIssuer};
//! use kcl_adapters::http::{router_with, HttpOptions};
//! use tower::ServiceExt;
//!
//! let secret = vec![42u8; 32];
//! let settings = AuthSettings::new(secret.clone()).unwrap();
//! let app = router_with(
//!     kcl_core::memory::MemoryBackend::new().services(),
//!     HttpOptions::default().auth(settings),
//! );
//! let get = |token: Option<String>| {
//!     let mut req = Request::get("/api/books");
//!     if let Some(t) = token {
//!         req = req.header("authorization", format!("Bearer {t}"));
//!     }
//!     req.body(Body::empty()).unwrap()
//! };
//! assert_eq!(app.clone().oneshot(get(None)).await.unwrap().status(), 401);
//! let token = TokenIssuer::hs256(&secret).issue("ana", Role::Reader, Duration::from_secs(60));
//! assert_eq!(app.oneshot(get(Some(token))).await.unwrap().status(), 200);
//! # });
//! ```

mod first_start;
pub(crate) mod login;
mod tokens;
mod users;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use first_start::{load_or_create, FirstStart, StoredAuth};
pub use tokens::{Claims, TokenIssuer, TokenRejection, TokenVerifier};
pub use users::{hash_password, User, Users};

pub(crate) use login::routes;

use super::problem::Problem;
use bytes::Bytes;
use kcl_core::memory::MemoryEndedSessions;
use kcl_core::ports::{Cache, EndedSessions, EndedSessionsError};

/// Name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "kcl_session";

/// A role. Ordered: `Admin` > `Staff` > `Reader`; a role can do what the lower ones can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the catalog, rentals and OCR jobs.
    Reader,
    /// Also rents and returns copies and uploads covers.
    Staff,
    /// Everything: the catalog, OCR jobs, sales, stock, reports, the audit log.
    Admin,
}

impl Role {
    /// `admin`, `staff` or `reader` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            "reader" => Some(Self::Reader),
            _ => None,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Reader => "reader",
        }
    }
}

/// Why authentication could not be set up, or a credential was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Bad configuration (a short secret, an unreadable key or users file).
    #[error("auth configuration: {0}")]
    Config(String),
    /// A token that does not verify, and why (a fixed text for the client).
    #[error("{0}")]
    BadToken(TokenRejection),
}

/// How a route may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// By anyone (health checks, metrics, the OpenAPI document, login).
    Public,
    /// By readers, or by anyone when reads are public.
    Read,
    /// By this role or a higher one.
    Role(Role),
}

/// The access rule of a request: the single table of who may do what.
///
/// ```
/// use axum::http::Method;
/// use kcl_adapters::http::auth::{access, Access, Role};
/// assert_eq!(access(&Method::GET, "/api/books"), Access::Read);
/// assert_eq!(access(&Method::POST, "/api/books"), Access::Role(Role::Admin));
/// assert_eq!(access(&Method::POST, "/api/rentals"), Access::Role(Role::Staff));
/// assert_eq!(access(&Method::GET, "/api/sales/summary"), Access::Role(Role::Admin));
/// assert_eq!(access(&Method::GET, "/health"), Access::Public);
/// ```
pub fn access(method: &Method, path: &str) -> Access {
    const PUBLIC: &[&str] = &[
        "/health",
        "/health/live",
        "/metrics",
        "/login",
        "/api/auth/token",
        "/api/openapi.json",
        "/api/docs",
    ];
    // The pages' style sheet and script: the login page needs them too.
    if PUBLIC.contains(&path) || path.starts_with("/ui/static/") {
        return Access::Public;
    }
    let admin_area = [
        "/api/audit",
        "/api/sales/",
        "/api/stock/",
        "/api/reports",
        "/sales",
        "/ui/sales",
    ]
    .iter()
    .any(|p| path == p.trim_end_matches('/') || path.starts_with(p));
    if admin_area {
        return Access::Role(Role::Admin);
    }
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return Access::Read;
    }
    if path == "/logout" {
        // Any logged-in user may log out.
        return Access::Role(Role::Reader);
    }
    let staff = path.starts_with("/api/rentals")
        || path.starts_with("/ui/rentals/")
        || (path.starts_with("/ui/books/") && path.ends_with("/rent"))
        || (path.starts_with("/api/books/") && path.ends_with("/cover"))
        || (path.starts_with("/ui/books/") && path.ends_with("/cover"));
    Access::Role(if staff { Role::Staff } else { Role::Admin })
}

/// Authentication settings; see the module docs.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    secret: Vec<u8>,
    own: TokenVerifier,
    stamp: TokenIssuer,
    external: Option<TokenVerifier>,
    /// Users who can log in.
    pub users: Users,
    /// Whether reads (`GET` of the catalog, rentals, jobs) need no login.
    pub public_reads: bool,
    /// How long a UI session and an issued API token last (default 12 hours).
    pub session_ttl: Duration,
    /// Whether cookies carry `Secure` (on behind HTTPS; default on). Off, the cookie
    /// still gets `Secure` on requests a trusted proxy says came over HTTPS
    /// (`X-Forwarded-Proto`, see [`crate::http::client_addr`]).
    pub secure_cookies: bool,
    /// Failed logins allowed per user (and four times that per client address) in
    /// [`LOGIN_WINDOW`] before further attempts get `429` (default 5).
    pub login_attempts: u32,
}

/// The window failed logins are counted in.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// Password checks one server runs at once (each argon2 check holds ~19 MiB).
pub const PASSWORD_CHECKS: usize = 4;

/// How long a login waits for a free password check before it gets `503`.
pub const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(2);

/// How long a server takes a session the database said was not ended for live
/// before asking again. A logout on another server is seen at once through the
/// shared cache, and within this time through the database when the cache lost it.
pub const SESSION_RECHECK: Duration = Duration::from_secs(5);

/// How often, at most, a logout also purges the ended sessions that expired.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl AuthSettings {
    /// Settings with an HS256 `secret` (at least 32 bytes) for API tokens and
    /// session cookies, no users, private reads.
    pub fn new(secret: Vec<u8>) -> Result<Self, AuthError> {
        Ok(Self {
            own: TokenVerifier::hs256(&secret)?,
            stamp: TokenIssuer::hs256(&secret),
            secret,
            external: None,
            users: Users::default(),
            public_reads: false,
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: true,
            login_attempts: 5,
        })
    }

    /// Also accepts API tokens verified by `verifier` (an identity provider's public
    /// key).
    pub fn external_tokens(mut self, verifier: TokenVerifier) -> Self {
        self.external = Some(verifier);
        self
    }

    /// Requires `iss` on HS256 API tokens.
    pub fn issuer(mut self, iss: &str) -> Self {
        self.own = self.own.issuer(iss);
        self.stamp = self.stamp.issuer(iss);
        self
    }

    /// Requires `aud` on HS256 API tokens.
    pub fn audience(mut self, aud: &str) -> Self {
        self.own = self.own.audience(aud);
        self.stamp = self.stamp.audience(aud);
        self
    }

    /// The users.
    pub fn users(mut self, users: Users) -> Self {
        self.users = users;
        self
    }
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) name: String,
    pub(crate) role: Option<Role>,
    /// The session's CSRF token (cookie sessions only).
    pub(crate) csrf: Option<String>,
}

tokio::task_local! {
    static VIEWER: Option<Viewer>;
}

/// The caller of the request being handled, when authenticated.
pub(crate) fn viewer() -> Option<Viewer> {
    VIEWER.try_with(|v| v.clone()).ok().flatten()
}

/// Whether the request being handled went through authentication (the server has
/// it on), logged in or not.
pub(crate) fn enabled() -> bool {
    VIEWER.try_with(|_| ()).is_ok()
}

/// `url` with the session's CSRF token in its query, for a form's `action`.
pub(crate) fn form_action(url: &str) -> String {
    match viewer().and_then(|v| v.csrf) {
        Some(t) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}csrf={t}")
        }
        None => url.to_owned(),
    }
}

/// The session cookie's claims.
#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    sub: String,
    role: Role,
    sid: String,
    exp: u64,
    iat: u64,
}

/// The running authenticator: keys, users, login throttling, logged-out sessions.
pub struct Authenticator {
    settings: AuthSettings,
    own: TokenVerifier,
    issuer: TokenIssuer,
    session_enc: EncodingKey,
    session_dec: DecodingKey,
    session_validation: Validation,
    csrf_key: Vec<u8>,
    failures: moka::sync::Cache<String, (u32, Instant)>,
    /// Held while this server's failure counts are checked and raised together, so
    /// concurrent attempts cannot all pass the check before any is counted.
    counting: std::sync::Mutex<()>,
    /// Password checks (argon2, ~19 MiB and tens of milliseconds each) running at
    /// once; attempts beyond wait a moment, then get `503`.
    password_checks: tokio::sync::Semaphore,
    /// Sessions this server knows ended (from its logouts, the shared cache or the
    /// database).
    logged_out: moka::sync::Cache<String, ()>,
    /// Sessions the database said were not ended, for [`SESSION_RECHECK`]: a request
    /// asks the database about its session at most that often.
    live: moka::sync::Cache<String, ()>,
    /// The durable record of ended sessions (the deployment's database): the truth
    /// behind `logged_out` and the shared cache, so a copied cookie stays refused
    /// after a restart or a cache flush.
    ended: Arc<dyn EndedSessions>,
    /// When ended sessions that expired were last purged.
    purged: std::sync::Mutex<Option<Instant>>,
    /// The deployment's shared cache (Redis behind a balancer): logged-out sessions and
    /// failed logins are written there too, so every server sees them.
    shared: Option<Arc<dyn Cache>>,
    /// Prefix of this deployment's keys in the shared cache (from the secret: two
    /// deployments sharing one Redis do not see each other's entries).
    namespace: String,
    /// Bearer tokens that verified, for a minute (each is still refused past its
    /// `exp`): a client sends the same token with every request, and checking a
    /// signature costs more than the cached catalog read it guards.
    verified: moka::sync::Cache<String, Arc<Claims>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("users", &self.settings.users.len())
            .field("public_reads", &self.settings.public_reads)
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

fn derive(secret: &[u8], label: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl Authenticator {
    /// Builds the authenticator.
    pub fn new(settings: AuthSettings) -> Self {
        let session_key = derive(&settings.secret, "kcl-session-v1");
        let mut session_validation = Validation::new(Algorithm::HS256);
        session_validation.leeway = 0;
        session_validation.validate_aud = false;
        session_validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            issuer: settings.stamp.clone(),
            own: settings.own.clone(),
            session_enc: EncodingKey::from_secret(&session_key),
            session_dec: DecodingKey::from_secret(&session_key),
            session_validation,
            csrf_key: derive(&settings.secret, "kcl-csrf-v1"),
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(LOGIN_WINDOW)
                .build(),
            counting: std::sync::Mutex::new(()),
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
            logged_out: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(settings.session_ttl)
                .build(),
            live: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_RECHECK)
                .build(),
            ended: Arc::new(MemoryEndedSessions::default()),
            purged: std::sync::Mutex::new(None),
            verified: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            shared: None,
            namespace: format!(
                "auth:{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(&derive(&settings.secret, "kcl-shared-cache-v1")[..9])
            ),
            settings,
        }
    }

    /// The same authenticator keeping logged-out sessions and failed logins in `cache`
    /// as well as in this process, so that every server sharing the cache refuses a
    /// session logged out on another at once and counts failed logins together. The
    /// cache may lose entries (it is a cache): then the failure counts restart, and
    /// logouts are known from the database of [`Self::with_ended_sessions`] (without
    /// one, a copied cookie would work again until it expires); when it does not
    /// answer, the servers go on with what each knows (throttled per server).
    pub fn with_shared_cache(mut self, cache: Arc<dyn Cache>) -> Self {
        self.shared = Some(cache);
        self
    }

    /// The same authenticator recording logouts in `store` (the deployment's
    /// database), the truth behind this process's and the shared cache's copies: a
    /// copied session cookie stays refused after a restart, a cache flush, and on
    /// every server. Without it, logouts are kept in this process only.
    pub fn with_ended_sessions(mut self, store: Arc<dyn EndedSessions>) -> Self {
        self.ended = store;
        self
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    fn verify_bearer(&self, token: &str) -> Result<Arc<Claims>, AuthError> {
        if let Some(c) = self.verified.get(token) {
            // The same leeway as the signature check's.
            if c.exp + 30 > tokens::now_secs() {
                return Ok(c);
            }
        }
        let claims = Arc::new(match self.own.verify(token) {
            Ok(c) => c,
            Err(own_err) => match &self.settings.external {
                // Refused by both: the more telling reason (`expired` from the key
                // that signed it rather than `not valid` from the other).
                Some(ext) => ext
                    .verify(token)
                    .map_err(|ext_err| match (own_err, ext_err) {
                        (AuthError::BadToken(a), AuthError::BadToken(b)) => {
                            AuthError::BadToken(a.max(b))
                        }
                        (_, other) => other,
                    })?,
                None => return Err(own_err),
            },
        });
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn csrf_token(&self, sid: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(sid.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn csrf_ok(&self, sid: &str, given: &str) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(sid.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(given)
            .is_ok_and(|tag| mac.verify_slice(&tag).is_ok())
    }

    /// A session cookie for `user` (`Set-Cookie` value); `https`: the client came over
    /// HTTPS (through a trusted proxy).
    fn session_cookie(&self, user: &User, https: bool) -> String {
        let now = tokens::now_secs();
        let claims = SessionClaims {
            sub: user.name.clone(),
            role: user.role,
            sid: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
            exp: now + self.settings.session_ttl.as_secs(),
            iat: now,
        };
        let value = tokens::sign(&self.session_enc, &claims);
        self.cookie(&value, self.settings.session_ttl.as_secs(), https)
    }

    fn cookie(&self, value: &str, max_age: u64, https: bool) -> String {
        format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            if self.settings.secure_cookies || https {
                "; Secure"
            } else {
                ""
            }
        )
    }

    /// The session cookie's claims, when it is signed by this deployment and has not
    /// expired (whether it was logged out is [`Self::ended`]'s question).
    fn session_claims(&self, headers: &HeaderMap) -> Option<SessionClaims> {
        let value = cookie_value(headers, SESSION_COOKIE)?;
        jsonwebtoken::decode::<SessionClaims>(value, &self.session_dec, &self.session_validation)
            .ok()
            .map(|d| d.claims)
    }

    /// The request's session, unless it was logged out; `Err` when whether it was
    /// cannot be told now (the database does not answer).
    async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<SessionClaims>, EndedSessionsError> {
        let Some(claims) = self.session_claims(headers) else {
            return Ok(None);
        };
        Ok((!self.ended(&claims.sid).await?).then_some(claims))
    }

    /// Whether session `sid` was logged out: this server's memory first, then the
    /// shared cache, then (at most every [`SESSION_RECHECK`] per session) the
    /// database, which is the truth.
    async fn ended(&self, sid: &str) -> Result<bool, EndedSessionsError> {
        if self.logged_out.contains_key(sid) {
            return Ok(true);
        }
        if let Some(cache) = &self.shared {
            match cache.get(&self.logout_key(sid)).await {
                Ok(Some(_)) => {
                    self.logged_out.insert(sid.to_owned(), ());
                    return Ok(true);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "shared cache: logged-out sessions unknown"),
            }
        }
        if self.live.contains_key(sid) {
            return Ok(false);
        }
        match self.ended.is_ended(sid).await {
            Ok(true) => {
                self.logged_out.insert(sid.to_owned(), ());
                Ok(true)
            }
            Ok(false) => {
                self.live.insert(sid.to_owned(), ());
                Ok(false)
            }
            // Not an id this deployment makes: not a session to let in.
            Err(EndedSessionsError::InvalidInput(_)) => Ok(true),
            Err(e) => {
                tracing::warn!(error = %e, "ended sessions unknown: the database does not answer");
                Err(e)
            }
        }
    }

    /// Ends a session: in the database (the truth, kept until the session would have
    /// expired), and in the shared cache and this server's memory, so every server
    /// refuses it at once.
    async fn end_session(&self, session: SessionClaims) {
        let expires_at = chrono::DateTime::from_timestamp(
            i64::try_from(session.exp).unwrap_or(i64::MAX / 1_000_000),
            0,
        )
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        if let Err(e) = self.ended.end(&session.sid, expires_at).await {
            tracing::error!(
                error = %e,
                "logout not recorded in the database: a copy of the session's cookie \
                 works again after a restart or a cache flush, until it expires"
            );
        }
        if let Some(cache) = &self.shared {
            let left = session.exp.saturating_sub(tokens::now_secs()).max(1);
            let key = self.logout_key(&session.sid);
            if let Err(e) = cache
                .set(&key, Bytes::from_static(b"1"), Duration::from_secs(left))
                .await
            {
                tracing::warn!(error = %e, "shared cache: logout known to this server only");
            }
        }
        self.live.invalidate(&session.sid);
        self.logged_out.insert(session.sid, ());
        self.purge_expired().await;
    }

    /// Removes the ended sessions that expired from the database, at most every
    /// [`PURGE_EVERY`].
    async fn purge_expired(&self) {
        {
            let mut last = self.purged.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < PURGE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        match self.ended.purge(chrono::Utc::now()).await {
            Ok(n) => tracing::debug!(purged = n, "expired ended sessions purged"),
            Err(e) => tracing::warn!(error = %e, "ended sessions: purge failed, retried later"),
        }
    }

    /// Counts an attempt for these keys, before its password is checked: refused
    /// (`Err(seconds to wait)`) when one of them is at its limit on this server.
    /// Checking and counting happen under one lock, so concurrent attempts are
    /// counted one by one; a successful attempt is taken back by [`Self::succeeded`].
    fn count_attempt(&self, keys: &[String]) -> Result<(), u64> {
        let _one_at_a_time = self.counting.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let current: Vec<(u32, Instant)> = keys
            .iter()
            .map(|k| match self.failures.get(k) {
                Some((n, since)) if now.duration_since(since) <= LOGIN_WINDOW => (n, since),
                _ => (0, now),
            })
            .collect();
        let wait = keys
            .iter()
            .zip(&current)
            .filter(|(k, (n, _))| *n >= self.limit(k))
            .filter_map(|(_, (_, since))| LOGIN_WINDOW.checked_sub(now.duration_since(*since)))
            .map(|left| left.as_secs().max(1))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (k, (n, since)) in keys.iter().zip(current) {
            self.failures.insert(k.clone(), (n + 1, since));
        }
        Ok(())
    }

    /// Counts an attempt for these keys in the shared cache (the servers behind the
    /// balancer), before its password is checked.
    async fn count_shared_attempt(&self, keys: &[String]) {
        self.add_shared(keys, 1).await;
    }

    /// Adds `delta` to the shared counts of `keys`.
    async fn add_shared(&self, keys: &[String], delta: i64) {
        let Some(cache) = &self.shared else { return };
        let now = tokens::now_secs();
        for k in keys {
            let key = self.failures_key(k);
            // Read, add, write: two servers counting the same key at the same
            // moment may count one attempt instead of two.
            let (n, since) = match cache.get(&key).await {
                Ok(v) => v.as_deref().and_then(parse_failures).unwrap_or((0, now)),
                Err(e) => {
                    tracing::warn!(error = %e, "shared cache: login attempt counted here only");
                    return;
                }
            };
            let (n, since) = if now.saturating_sub(since) >= LOGIN_WINDOW.as_secs() {
                (0, now)
            } else {
                (n, since)
            };
            let n = u32::try_from((i64::from(n) + delta).max(0)).unwrap_or(u32::MAX);
            let left = (since + LOGIN_WINDOW.as_secs()).saturating_sub(now).max(1);
            let value = Bytes::from(format!("{n} {since}"));
            if let Err(e) = cache.set(&key, value, Duration::from_secs(left)).await {
                tracing::warn!(error = %e, "shared cache: login attempt counted here only");
            }
        }
    }

    /// A permit to run one password check, waiting at most
    /// [`PASSWORD_CHECK_WAIT`]; `None` when every one stayed busy.
    async fn password_check_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(PASSWORD_CHECK_WAIT, self.password_checks.acquire())
            .await
            .ok()?
            .ok()
    }

    /// A successful login: forgets the user's failures, and takes back the attempt
    /// [`Self::count_attempt`] counted for the other keys (the client's address), so
    /// successful logins never throttle an address.
    async fn succeeded(&self, keys: &[String]) {
        let Some((user, others)) = keys.split_first() else {
            return;
        };
        {
            let _one_at_a_time = self.counting.lock().unwrap_or_else(|p| p.into_inner());
            self.failures.invalidate(user);
            for k in others {
                if let Some((n, since)) = self.failures.get(k) {
                    self.failures
                        .insert(k.clone(), (n.saturating_sub(1), since));
                }
            }
        }
        if let Some(cache) = &self.shared {
            if let Err(e) = cache.delete(&self.failures_key(user)).await {
                tracing::warn!(error = %e, "shared cache: failed logins not reset");
            }
        }
        self.add_shared(others, -1).await;
    }

    /// The shared cache's key for a logged-out session.
    fn logout_key(&self, sid: &str) -> String {
        format!("{}:logout:{sid}", self.namespace)
    }

    /// The shared cache's key for failed logins of a user or an address (hashed:
    /// names are the caller's text).
    fn failures_key(&self, key: &str) -> String {
        let digest = <Sha256 as sha2::Digest>::digest(key.as_bytes());
        format!(
            "{}:failures:{}",
            self.namespace,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    }

    fn limit(&self, key: &str) -> u32 {
        if key.starts_with("ip:") {
            self.settings.login_attempts.saturating_mul(4)
        } else {
            self.settings.login_attempts
        }
    }

    /// `Some(seconds to wait)` when one of the keys is over its limit, here or on the
    /// servers sharing the cache.
    async fn throttled(&self, keys: &[String]) -> Option<u64> {
        let now = Instant::now();
        let here = keys
            .iter()
            .filter_map(|k| {
                let (n, since) = self.failures.get(k)?;
                let left = LOGIN_WINDOW.checked_sub(now.duration_since(since))?;
                (n >= self.limit(k)).then(|| left.as_secs().max(1))
            })
            .max();
        let Some(cache) = &self.shared else {
            return here;
        };
        let now = tokens::now_secs();
        let mut wait = here;
        for k in keys {
            match cache.get(&self.failures_key(k)).await {
                Ok(Some(v)) => {
                    if let Some((n, since)) = parse_failures(&v) {
                        let left = (since + LOGIN_WINDOW.as_secs()).saturating_sub(now);
                        if n >= self.limit(k) && left > 0 {
                            wait = wait.max(Some(left));
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "shared cache: throttling per server"),
            }
        }
        wait
    }
}

/// `"COUNT SINCE"` (failures, and the Unix second the window started).
fn parse_failures(value: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(value).ok()?;
    let (n, since) = text.split_once(' ')?;
    Some((n.parse().ok()?, since.parse().ok()?))
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    b
}

/// Whether a request is for the JSON API (problems) rather than the web UI (pages).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path == "/metrics" || path.starts_with("/health")
}

fn unauthenticated(req: &Request, path: &str, why: &str) -> Response {
    if is_api(path) {
        let mut res =
            Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", why).into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kcl\""),
        );
        res
    } else {
        let target = format!("/login?next={}", login::encode(&return_to(req)));
        Redirect::to(&target).into_response()
    }
}

/// Where to go back after logging in: the page asked for, or for a form post (whose
/// URL only takes posts) the page the form was on, when it is one of ours.
fn return_to(req: &Request) -> String {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
    }
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let from_page = h(header::REFERER.as_str())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (Some(authority) == h(header::HOST.as_str()) && path.starts_with('/'))
                .then(|| path.to_owned())
        });
    from_page.unwrap_or_else(|| "/".to_owned())
}

fn forbidden(path: &str, code: &str, detail: String) -> Response {
    let p = Problem::new(StatusCode::FORBIDDEN, code, detail);
    if is_api(path) {
        p.into_response()
    } else {
        super::ui::error_page(p)
    }
}

/// Removes `csrf=...` from a query, returning the value.
fn take_csrf(uri: &Uri) -> (Option<String>, Option<Uri>) {
    let Some(q) = uri.query() else {
        return (None, None);
    };
    let mut token = None;
    let rest: Vec<&str> = q
        .split('&')
        .filter(|kv| match kv.strip_prefix("csrf=") {
            Some(v) => {
                token = Some(v.to_owned());
                false
            }
            None => true,
        })
        .collect();
    if token.is_none() {
        return (None, None);
    }
    let pq = if rest.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    (token, Uri::from_parts(parts).ok())
}

/// The authentication middleware: identifies the caller, applies [`access`], checks
/// CSRF tokens on cookie-authenticated writes, and makes the caller known to the UI.
pub(crate) async fn authenticate(
    axum::extract::State(auth): axum::extract::State<Arc<Authenticator>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let rule = access(req.method(), &path);
    // Who is calling: a bearer token wins over a cookie.
    let mut viewer = None;
    let mut session_sid = None;
    let mut bad_token = None;
    // A session cookie whose logout could not be checked (the database is down).
    let mut sessions_unknown = false;
    // Public routes need nobody's identity (the login page shows who is logged in).
    let identify = rule != Access::Public || path == "/login";
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .filter(|_| identify);
    if let Some(value) = authorization {
        let token = value.to_str().ok().and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
        match token.map(|t| auth.verify_bearer(t.trim())) {
            Some(Ok(claims)) => {
                viewer = Some(Viewer {
                    role: claims.highest_role(),
                    name: claims.sub.clone(),
                    csrf: None,
                })
            }
            Some(Err(e)) => bad_token = Some(e.to_string()),
            None => bad_token = Some("the Authorization header must be `Bearer <token>`".into()),
        }
    } else if identify {
        match auth.session(req.headers()).await {
            Ok(Some(s)) => {
                viewer = Some(Viewer {
                    name: s.sub,
                    role: Some(s.role),
                    csrf: Some(auth.csrf_token(&s.sid)),
                });
                session_sid = Some(s.sid);
            }
            Ok(None) => {}
            Err(_) => sessions_unknown = true,
        }
    }
    let needed = match rule {
        Access::Public => None,
        Access::Read if auth.settings.public_reads && bad_token.is_none() => None,
        Access::Read => Some(Role::Reader),
        Access::Role(r) => Some(r),
    };
    if let Some(needed) = needed {
        if let Some(why) = bad_token {
            return unauthenticated(&req, &path, &why);
        }
        if viewer.is_none() && sessions_unknown {
            let p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "your session cannot be checked right now; retry in a moment",
            );
            return if is_api(&path) {
                p.into_response()
            } else {
                super::ui::error_page(p)
            };
        }
        let Some(v) = &viewer else {
            return unauthenticated(
                &req,
                &path,
                "log in, or send `Authorization: Bearer <token>`",
            );
        };
        if v.role.is_none_or(|r| r < needed) {
            return forbidden(
                &path,
                "forbidden",
                format!("this needs the `{}` role", needed.as_str()),
            );
        }
    }
    // Cookie sessions are ambient: writes must prove they come from our own pages.
    let (token, stripped) = take_csrf(req.uri());
    if let Some(uri) = stripped {
        *req.uri_mut() = uri;
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (true, Some(sid)) = (unsafe_method, &session_sid) {
        let given = token.or_else(|| {
            req.headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        if !given.is_some_and(|t| auth.csrf_ok(sid, &t)) {
            return forbidden(
                &path,
                "csrf",
                "this form is out of date or came from another site; reload the page and try again"
                    .into(),
            );
        }
    }
    req.extensions_mut().insert(auth.clone());
    VIEWER.scope(viewer, next.run(req)).await
}
