//! Credentials for the KCL server: password hashes for a users file, and API tokens.
//! What `kcl auth` runs ([`kcl::cli::auth`]).
//!
//! ```sh
//! # A users file line (the password is read from stdin, never from the arguments):
//! echo -n 's3cret pass' | cargo run --features cli --example auth -- hash-password --name ana --role staff
//! #   ana:staff:$argon2id$v=19$m=19456,t=2,p=1$...
//!
//! # An HS256 API token, signed with KCL_AUTH_JWT_SECRET, or with the secret the
//! # embedded server generated in $KCL_DATA_DIR/auth.json:
//! TOKEN=$(cargo run --features cli --example auth -- mint-token --sub ci --role admin --ttl 3600)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/books
//! ```

use std::process::ExitCode;

use clap::Parser;
use kcl::cli::{AuthCommand, Command};

/// Password hashes and API tokens for the KCL server.
#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: AuthCommand,
}

fn main() -> ExitCode {
    kcl::cli::main(Command::Auth(Args::parse().command))
}
