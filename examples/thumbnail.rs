//! Thumbnails every image in a folder: what `kcl thumbnail` runs
//! ([`kcl::cli::thumbnail`]).
//!
//! ```sh
//! cargo run --release --example thumbnail --features cli,media -- --size 256 [--threads N] IN_DIR OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/<name>.jpg` (or `.png` for sources with transparency), prints each
//! file's error without stopping, then the count, the seconds and images per second.

use std::process::ExitCode;

use clap::Parser;
use kcl::cli::{Command, ThumbnailArgs};

fn main() -> ExitCode {
    kcl::cli::main(Command::Thumbnail(ThumbnailArgs::parse()))
}
