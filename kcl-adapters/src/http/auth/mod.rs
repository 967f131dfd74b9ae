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
//!   [`AuthSettings::public_reads`] is set. Each route is registered with its rule
//!   ([`Access`]); [`crate::http::route_rules`] lists them all.
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
//! let token = TokenIssuer::hs256(&secret).unwrap().issue("ana", Role::Reader, Duration::from_secs(60));
//! assert_eq!(app.oneshot(get(Some(token))).await.unwrap().status(), 200);
//! # });
//! ```

mod credentials;
mod first_start;
mod guard;
pub(crate) mod login;
mod sessions;
mod throttle;
mod tokens;
mod users;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use sha2::Sha256;

pub use super::access::{Access, Role};
pub use first_start::{load_or_create, FirstStart, StoredAuth};
pub use tokens::{Claims, TokenIssuer, TokenRejection, TokenVerifier};
pub use users::{hash_password, User, Users};

pub(crate) use credentials::random_bytes;
pub(crate) use guard::authorize;

use kcl_core::memory::MemoryEndedSessions;
use kcl_core::ports::{Cache, EndedSessions};

/// Name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "kcl_session";

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
            stamp: TokenIssuer::hs256(&secret)?,
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
            session_enc: EncodingKey::from_secret(&session_key)
                .expect("an HMAC-SHA256 output is 32 bytes, never empty"),
            session_dec: DecodingKey::from_secret(&session_key)
                .expect("an HMAC-SHA256 output is 32 bytes, never empty"),
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
}
