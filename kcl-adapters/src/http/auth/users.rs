//! The web UI's users: names, roles and argon2 password hashes.

use std::collections::HashMap;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

use super::{AuthError, Role};

/// A user who can log in to the web UI (and ask `POST /api/auth/token` for a token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The role the user acts with.
    pub role: Role,
    /// The password's argon2 hash in PHC form (`$argon2id$v=19$...`).
    pub password_hash: String,
}

/// The users the server knows, by name.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: HashMap<String, User>,
}

impl Users {
    /// Users from a list; every hash must be a PHC string.
    pub fn new(users: impl IntoIterator<Item = User>) -> Result<Self, AuthError> {
        let mut by_name = HashMap::new();
        for u in users {
            PasswordHash::new(&u.password_hash).map_err(|e| {
                AuthError::Config(format!("user `{}`: not a password hash: {e}", u.name))
            })?;
            if !valid_name(&u.name) {
                return Err(AuthError::Config(format!(
                    "user `{}`: names are 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
                    u.name
                )));
            }
            if by_name.insert(u.name.clone(), u.clone()).is_some() {
                return Err(AuthError::Config(format!(
                    "user `{}` is listed twice",
                    u.name
                )));
            }
        }
        Ok(Self { by_name })
    }

    /// Reads a users file: one `name:role:hash` per line (`#` starts a comment), as
    /// `kcl auth hash-password` prints them.
    ///
    /// ```
    /// use kcl_adapters::http::auth::{hash_password, Users};
    /// let line = format!("ana:staff:{}\n", hash_password("correct horse").unwrap());
    /// let users = Users::parse(&line).unwrap();
    /// assert!(users.check("ana", "correct horse").is_some());
    /// assert!(users.check("ana", "wrong").is_none());
    /// ```
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut list = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ':');
            let (Some(name), Some(role), Some(hash)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(AuthError::Config(format!(
                    "users file line {}: expected `name:role:hash`",
                    n + 1
                )));
            };
            let role = Role::parse(role).ok_or_else(|| {
                AuthError::Config(format!(
                    "users file line {}: unknown role `{role}` (admin, staff or reader)",
                    n + 1
                ))
            })?;
            list.push(User {
                name: name.to_owned(),
                role,
                password_hash: hash.to_owned(),
            });
        }
        Self::new(list)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The user, when the password matches. Takes about as long for an unknown name
    /// as for a wrong password (argon2 is slow on purpose: call it off the runtime).
    pub fn check(&self, name: &str, password: &str) -> Option<User> {
        match self.by_name.get(name) {
            Some(u) => verify_password(password, &u.password_hash).then(|| u.clone()),
            None => {
                // Same work as a real check, so timing does not tell names apart.
                let _ = verify_password(password, dummy_hash());
                None
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// An argon2id hash (PHC string) of `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = super::random_bytes::<16>();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Config(format!("cannot hash the password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password").unwrap_or_default())
}
