//! The credentials an [`Authenticator`] checks and makes: bearer tokens, session
//! cookies and CSRF tokens.

use std::sync::Arc;

use axum::http::HeaderMap;
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::{tokens, AuthError, Authenticator, Claims, HmacSha256, Role, User, SESSION_COOKIE};

/// The session cookie's claims.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SessionClaims {
    pub(super) sub: String,
    pub(super) role: Role,
    pub(super) sid: String,
    pub(super) exp: u64,
    pub(super) iat: u64,
}

impl Authenticator {
    pub(super) fn verify_bearer(&self, token: &str) -> Result<Arc<Claims>, AuthError> {
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

    pub(super) fn csrf_token(&self, sid: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(sid.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub(super) fn csrf_ok(&self, sid: &str, given: &str) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(sid.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(given)
            .is_ok_and(|tag| mac.verify_slice(&tag).is_ok())
    }

    /// A session cookie for `user` (`Set-Cookie` value); `https`: the client came over
    /// HTTPS (through a trusted proxy).
    pub(super) fn session_cookie(&self, user: &User, https: bool) -> String {
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

    pub(super) fn cookie(&self, value: &str, max_age: u64, https: bool) -> String {
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
    pub(super) fn session_claims(&self, headers: &HeaderMap) -> Option<SessionClaims> {
        let value = crate::http::extract::cookie(headers, SESSION_COOKIE)?;
        jsonwebtoken::decode::<SessionClaims>(value, &self.session_dec, &self.session_validation)
            .ok()
            .map(|d| d.claims)
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    b
}
