//! Credentials for the KCL server: password hashes for a users file, and API tokens.
//!
//! ```sh
//! # A users file line (the password is read from stdin, never from the arguments):
//! echo -n 's3cret pass' | cargo run --example auth -- hash-password --name ana --role staff
//! #   ana:staff:$argon2id$v=19$m=19456,t=2,p=1$...
//!
//! # An HS256 API token, signed with KCL_AUTH_JWT_SECRET, or with the secret the
//! # embedded server generated in $KCL_DATA_DIR/auth.json:
//! TOKEN=$(cargo run --example auth -- token --sub ci --role admin --ttl 3600)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/books
//! ```

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kcl::http::auth::{hash_password, load_or_create, Role, TokenIssuer};

#[derive(Parser)]
#[command(about = "Password hashes and API tokens for the KCL server")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hashes the password read from stdin (argon2id); with --name and --role,
    /// prints a whole users-file line.
    HashPassword {
        /// The user's name.
        #[arg(long, requires = "role")]
        name: Option<String>,
        /// admin, staff or reader.
        #[arg(long, requires = "name")]
        role: Option<String>,
    },
    /// Prints an HS256 API token.
    Token {
        /// Who the token speaks for.
        #[arg(long, default_value = "cli")]
        sub: String,
        /// admin, staff or reader.
        #[arg(long, default_value = "reader")]
        role: String,
        /// Seconds the token is valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The data dir holding auth.json (default: KCL_DATA_DIR or ./kcl-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("auth: {e}");
            ExitCode::FAILURE
        }
    }
}

fn role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role `{s}`: admin, staff or reader"))
}

fn run(args: Args) -> Result<String, String> {
    match args.command {
        Command::HashPassword { name, role: r } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err("the password (on stdin) is empty".into());
            }
            let hash = hash_password(password).map_err(|e| e.to_string())?;
            Ok(match (name, r) {
                (Some(n), Some(r)) => format!("{n}:{}:{hash}", role(&r)?.as_str()),
                _ => hash,
            })
        }
        Command::Token {
            sub,
            role: r,
            ttl,
            data_dir,
        } => {
            let role = role(&r)?;
            let secret = match std::env::var("KCL_AUTH_JWT_SECRET") {
                Ok(s) if !s.trim().is_empty() => s.trim().as_bytes().to_vec(),
                _ => {
                    let dir = data_dir
                        .or_else(|| std::env::var_os("KCL_DATA_DIR").map(PathBuf::from))
                        .unwrap_or_else(|| PathBuf::from("./kcl-data"));
                    if !dir.join("auth.json").exists() {
                        return Err(format!(
                            "no KCL_AUTH_JWT_SECRET and no {}: start the server once, or set the secret",
                            dir.join("auth.json").display()
                        ));
                    }
                    let first = load_or_create(&dir).map_err(|e| e.to_string())?;
                    first.stored.secret().map_err(|e| e.to_string())?
                }
            };
            Ok(TokenIssuer::hs256(&secret).issue(&sub, role, Duration::from_secs(ttl)))
        }
    }
}
