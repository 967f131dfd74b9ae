//! The embedded first start: with nothing configured, a random secret and an `admin`
//! user with a random password, kept (hashed) in the data dir.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{hash_password, AuthError, Role, User};

/// What the data dir's `auth.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAuth {
    /// The HS256 secret (base64), for API tokens and session cookies.
    pub jwt_secret: String,
    /// The users, with argon2 hashes.
    pub users: Vec<User>,
}

impl StoredAuth {
    /// The secret's bytes.
    pub fn secret(&self) -> Result<Vec<u8>, AuthError> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.jwt_secret)
            .ok()
            .filter(|s| s.len() >= 32)
            .ok_or_else(|| {
                AuthError::Config("auth.json: jwt_secret is not 32+ base64 bytes".into())
            })
    }
}

/// The outcome of [`load_or_create`].
#[derive(Debug)]
pub struct FirstStart {
    /// The stored secret and users.
    pub stored: StoredAuth,
    /// Where they are kept.
    pub path: PathBuf,
    /// The admin password, only when it was generated just now: show it once.
    pub new_admin_password: Option<String>,
}

/// Reads `dir/auth.json`, or creates it (mode 0600) with a random 32-byte secret and an
/// `admin` user whose random password is returned once, never stored in clear.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let first = kcl_adapters::http::auth::load_or_create(dir.path()).unwrap();
/// let password = first.new_admin_password.unwrap();
/// let again = kcl_adapters::http::auth::load_or_create(dir.path()).unwrap();
/// assert!(again.new_admin_password.is_none());
/// let users = kcl_adapters::http::auth::Users::new(again.stored.users).unwrap();
/// assert!(users.check("admin", &password).is_some());
/// ```
pub fn load_or_create(dir: &Path) -> Result<FirstStart, AuthError> {
    let path = dir.join("auth.json");
    let io = |what: &str, e: std::io::Error| {
        AuthError::Config(format!("{what} {}: {e}", path.display()))
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let stored: StoredAuth = serde_json::from_slice(&bytes)
                .map_err(|e| AuthError::Config(format!("{}: {e}", path.display())))?;
            stored.secret()?;
            return Ok(FirstStart {
                stored,
                path,
                new_admin_password: None,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("cannot read", e)),
    }
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create the folder of", e))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let password =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(super::random_bytes::<18>());
    let stored = StoredAuth {
        jwt_secret: b64.encode(super::random_bytes::<32>()),
        users: vec![User {
            name: "admin".into(),
            role: Role::Admin,
            password_hash: hash_password(&password)?,
        }],
    };
    let json = serde_json::to_vec_pretty(&stored)
        .map_err(|e| AuthError::Config(format!("auth.json: {e}")))?;
    let tmp = dir.join(".auth.json.tmp");
    write_private(&tmp, &json).map_err(|e| io("cannot write", e))?;
    // `hard_link` fails when another process created the file first: then use theirs.
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {
            let _ = std::fs::remove_file(&tmp);
            Ok(FirstStart {
                stored,
                path,
                new_admin_password: Some(password),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            load_or_create(dir)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io("cannot create", e))
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
