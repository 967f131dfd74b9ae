//! Loads sales CSV files into the configured store, with a progress bar, and prints
//! each file's ingest report: what `kcl ingest` runs ([`kcl::cli::ingest`]).
//!
//! ```sh
//! cargo run --release --features cli --example ingest -- sales.csv more.csv --policy strict
//! cargo run --release --features cli --example ingest -- sales.csv --json   # JSON lines
//! ```
//!
//! Uses the same configuration as the server: the embedded SQLite database under
//! `KCL_DATA_DIR` by default, or `KCL_DATABASE_URL=postgres://...` (with
//! `--features cli,aws`). Each file is recorded under its path as given; loading the
//! same content again changes nothing, and a new content under the same path
//! replaces the earlier version. Exits with 1 when a file was rejected.

use std::process::ExitCode;

use clap::Parser;
use kcl::cli::{Command, IngestArgs};

fn main() -> ExitCode {
    kcl::cli::main(Command::Ingest(IngestArgs::parse()))
}
