//! Fills the configured store with synthetic books (for benchmarks and demos): what
//! `kcl seed` runs ([`kcl::cli::seed`]).
//!
//! ```sh
//! cargo run --release --features cli --example seed -- 100000 [OFFSET]
//! ```
//!
//! Uses the same configuration as the server (`KCL_DATA_DIR`, `KCL_DATABASE_URL`).
//! Every book goes through the catalog service's bulk import, so it is validated and audited.

use std::process::ExitCode;

use clap::Parser;
use kcl::cli::{Command, SeedArgs};

fn main() -> ExitCode {
    kcl::cli::main(Command::Seed(SeedArgs::parse()))
}
