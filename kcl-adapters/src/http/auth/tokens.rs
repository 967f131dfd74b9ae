//! JSON Web Tokens: the API's bearer tokens and the web UI's session cookie.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, Role};

/// The claims KCL reads from a bearer token.
///
/// `sub` names the caller; the role comes from `role` (one of `admin`, `staff`,
/// `reader`) or `roles` (a list: the highest known one counts). `exp` is required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token speaks for.
    pub sub: String,
    /// The caller's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles, as some identity providers send them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    /// The highest role the claims name, if any is known.
    pub fn highest_role(&self) -> Option<Role> {
        self.role
            .iter()
            .chain(self.roles.iter())
            .filter_map(|r| Role::parse(r))
            .max()
    }
}

/// Verifies API bearer tokens: HS256 with a shared secret, or RS256/ES256 (and the
/// other asymmetric algorithms) with a public key. Only the configured algorithm is
/// accepted, so `alg: none` and algorithm-confusion tokens are refused.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// HS256 with `secret` (at least 32 bytes).
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError::Config(
                "the JWT secret must be at least 32 bytes".into(),
            ));
        }
        let key = DecodingKey::from_secret(secret)
            .map_err(|e| AuthError::Config(format!("the JWT secret: {e}")))?;
        Ok(Self::with(key, Algorithm::HS256))
    }

    /// An asymmetric algorithm (`RS256`, `RS384`, `RS512`, `PS256`, `ES256`, `ES384`,
    /// `EdDSA`) with a PEM public key.
    pub fn public_key(alg: &str, pem: &[u8]) -> Result<Self, AuthError> {
        let bad = |e: jsonwebtoken::errors::Error| {
            AuthError::Config(format!("cannot read the {alg} public key: {e}"))
        };
        let (alg, key) = match alg {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => (
                alg.parse::<Algorithm>().map_err(bad)?,
                DecodingKey::from_rsa_pem(pem).map_err(bad)?,
            ),
            "ES256" | "ES384" => (
                alg.parse::<Algorithm>().map_err(bad)?,
                DecodingKey::from_ec_pem(pem).map_err(bad)?,
            ),
            "EdDSA" => (
                Algorithm::EdDSA,
                DecodingKey::from_ed_pem(pem).map_err(bad)?,
            ),
            other => {
                return Err(AuthError::Config(format!(
                    "unsupported JWT algorithm `{other}` for a public key (RS256, ES256, ...)"
                )))
            }
        };
        Ok(Self::with(key, alg))
    }

    fn with(key: DecodingKey, alg: Algorithm) -> Self {
        let mut validation = Validation::new(alg);
        validation.leeway = 30;
        validation.validate_aud = false;
        // A token with `nbf` is refused before that time.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { key, validation }
    }

    /// Also requires this issuer (`iss`).
    pub fn issuer(mut self, iss: &str) -> Self {
        self.validation.set_issuer(&[iss]);
        self
    }

    /// Also requires this audience (`aud`).
    pub fn audience(mut self, aud: &str) -> Self {
        self.validation.set_audience(&[aud]);
        self.validation.validate_aud = true;
        self
    }

    /// The token's claims, when its signature, algorithm, expiry and (when configured)
    /// issuer and audience check out. A refusal says why in one of a few fixed
    /// [`TokenRejection`]s; the library's own reason is logged at debug level only.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                tracing::debug!(reason = %e, "bearer token refused");
                AuthError::BadToken(TokenRejection::of(&e))
            })
    }
}

/// Why a bearer token was refused, as the client is told: a fixed text, never the
/// token library's own words.
///
/// ```
/// use kcl_adapters::http::auth::{Role, TokenIssuer, TokenRejection, TokenVerifier, AuthError};
/// let token = TokenIssuer::hs256(&[1u8; 32]).unwrap().issue("ana", Role::Reader, std::time::Duration::from_secs(60));
/// let err = TokenVerifier::hs256(&[2u8; 32]).unwrap().verify(&token).unwrap_err();
/// assert!(matches!(err, AuthError::BadToken(TokenRejection::Invalid)));
/// assert_eq!(err.to_string(), "the token is not valid");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Anything else: malformed, wrongly signed, another algorithm, a missing claim.
    Invalid,
    /// Signed for another issuer or audience (`iss`, `aud`).
    NotForThisService,
    /// Not valid before a time still to come (`nbf`).
    NotYetValid,
    /// Past its expiry (`exp`).
    Expired,
}

impl TokenRejection {
    /// What the client is told.
    pub fn detail(self) -> &'static str {
        match self {
            Self::Invalid => "the token is not valid",
            Self::NotForThisService => "the token was not issued for this service",
            Self::NotYetValid => "the token is not valid yet",
            Self::Expired => "the token has expired",
        }
    }

    fn of(e: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        // The library checks the signature first: these only follow a good one.
        match e.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience | ErrorKind::InvalidSubject => {
                Self::NotForThisService
            }
            _ => Self::Invalid,
        }
    }
}

impl std::fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.detail())
    }
}

/// Signs HS256 tokens with a shared secret: for tests, scripts, and
/// `POST /api/auth/token`.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    iss: Option<String>,
    aud: Option<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// HS256 with `secret` (the one the server's [`TokenVerifier`] uses); an empty
    /// secret is refused.
    pub fn hs256(secret: &[u8]) -> Result<Self, AuthError> {
        let key = EncodingKey::from_secret(secret)
            .map_err(|e| AuthError::Config(format!("the JWT secret: {e}")))?;
        Ok(Self {
            key,
            iss: None,
            aud: None,
        })
    }

    /// Stamps `iss` on issued tokens.
    pub fn issuer(mut self, iss: &str) -> Self {
        self.iss = Some(iss.to_owned());
        self
    }

    /// Stamps `aud` on issued tokens.
    pub fn audience(mut self, aud: &str) -> Self {
        self.aud = Some(aud.to_owned());
        self
    }

    /// A token for `sub` with `role`, valid for `ttl`.
    ///
    /// ```
    /// use kcl_adapters::http::auth::{Role, TokenIssuer, TokenVerifier};
    /// let secret = [7u8; 32];
    /// let token = TokenIssuer::hs256(&secret).unwrap().issue("ana", Role::Staff, std::time::Duration::from_secs(60));
    /// let claims = TokenVerifier::hs256(&secret).unwrap().verify(&token).unwrap();
    /// assert_eq!((claims.sub.as_str(), claims.highest_role()), ("ana", Some(Role::Staff)));
    /// ```
    pub fn issue(&self, sub: &str, role: Role, ttl: Duration) -> String {
        let now = now_secs();
        let claims = Claims {
            sub: sub.to_owned(),
            role: Some(role.as_str().to_owned()),
            roles: Vec::new(),
            exp: now + ttl.as_secs(),
            iat: now,
            iss: self.iss.clone(),
            aud: self.aud.clone(),
        };
        sign(&self.key, &claims)
    }
}

/// A signed value: HS256 over any claims. Signing with an in-memory HMAC key cannot
/// fail; an empty string would only fail verification.
pub(super) fn sign<T: Serialize>(key: &EncodingKey, claims: &T) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key).unwrap_or_default()
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
