//! Authentication of the HTTP host (`KCL_AUTH`, `KCL_AUTH_*`; see `docs/auth.md`).

use std::path::PathBuf;

use super::vars::Vars;
use super::{AuthConfig, ConfigError};

/// The algorithms an identity provider's public key may use.
const ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

pub(super) fn read(v: &Vars<'_>) -> Result<AuthConfig, ConfigError> {
    let jwt_secret = v.get("KCL_AUTH_JWT_SECRET");
    if jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
        return Err(ConfigError {
            variable: "KCL_AUTH_JWT_SECRET",
            value: "***".into(),
            reason: "must be at least 32 bytes (try `openssl rand -base64 32`)".into(),
        });
    }
    let jwt_algorithm = v.get("KCL_AUTH_JWT_ALG").unwrap_or_else(|| "RS256".into());
    if !ALGORITHMS.contains(&jwt_algorithm.as_str()) {
        return Err(ConfigError {
            variable: "KCL_AUTH_JWT_ALG",
            value: jwt_algorithm,
            reason: "must be RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
                .into(),
        });
    }
    Ok(AuthConfig {
        enabled: v.on_off("KCL_AUTH", true)?,
        jwt_secret,
        jwt_public_key: v.get("KCL_AUTH_JWT_PUBLIC_KEY").map(PathBuf::from),
        jwt_algorithm,
        jwt_issuer: v.get("KCL_AUTH_JWT_ISSUER"),
        jwt_audience: v.get("KCL_AUTH_JWT_AUDIENCE"),
        users_file: v.get("KCL_AUTH_USERS").map(PathBuf::from),
        public_reads: v.on_off("KCL_AUTH_PUBLIC_READS", false)?,
        session_secs: v
            .number("KCL_AUTH_SESSION_SECS", 60..=30 * 86_400)?
            .unwrap_or(43_200),
        secure_cookies: match v.get("KCL_AUTH_COOKIE_SECURE") {
            None => None,
            Some(_) => Some(v.on_off("KCL_AUTH_COOKIE_SECURE", true)?),
        },
    })
}
