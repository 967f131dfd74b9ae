//! `kcl auth`: password hashes for a users file, and API tokens (see `docs/auth.md`).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::Error;
use crate::http::auth::{hash_password, load_or_create, Role, TokenIssuer};
use crate::Config;

/// The `auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Hash the password read from stdin (argon2id; never from the arguments); with
    /// --name and --role, print a whole users-file line.
    HashPassword {
        /// The user's name.
        #[arg(long, requires = "role")]
        name: Option<String>,
        /// admin, staff or reader.
        #[arg(long, requires = "name")]
        role: Option<String>,
    },
    /// Print an HS256 API token, signed with KCL_AUTH_JWT_SECRET, or with the secret
    /// the embedded server generated in its data dir's auth.json.
    #[command(alias = "token")]
    MintToken {
        /// Who the token speaks for.
        #[arg(long, default_value = "cli")]
        sub: String,
        /// admin, staff or reader.
        #[arg(long, default_value = "reader")]
        role: String,
        /// Seconds the token is valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The data dir holding auth.json (default: KCL_DATA_DIR, or ./kcl-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Runs an `auth` subcommand: prints the hash, the users-file line or the token on
/// stdout.
pub fn run(command: AuthCommand) -> Result<(), Error> {
    let out = match command {
        AuthCommand::HashPassword { name, role: r } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err("the password (on stdin) is empty".into());
            }
            let hash = hash_password(password).map_err(|e| e.to_string())?;
            match (name, r) {
                (Some(n), Some(r)) => format!("{n}:{}:{hash}", role(&r)?.as_str()),
                _ => hash,
            }
        }
        AuthCommand::MintToken {
            sub,
            role: r,
            ttl,
            data_dir,
        } => {
            let role = role(&r)?;
            let config = Config::from_env()?;
            let secret = match config.auth.jwt_secret {
                Some(s) => s.into_bytes(),
                None => {
                    let dir = data_dir.unwrap_or(config.data_dir);
                    let file = dir.join("auth.json");
                    if !file.exists() {
                        return Err(format!(
                            "no KCL_AUTH_JWT_SECRET and no {}: start the server once, or set the secret",
                            file.display()
                        )
                        .into());
                    }
                    let first = load_or_create(&dir).map_err(|e| e.to_string())?;
                    first.stored.secret().map_err(|e| e.to_string())?
                }
            };
            TokenIssuer::hs256(&secret)
                .map_err(|e| e.to_string())?
                .issue(&sub, role, Duration::from_secs(ttl))
        }
    };
    println!("{out}");
    Ok(())
}

fn role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role `{s}`: admin, staff or reader"))
}
