//! Reads the text of images with Tesseract: what `kcl ocr` runs ([`kcl::cli::ocr`]).
//!
//! ```sh
//! cargo run --release --features cli,tesseract --example ocr -- IMAGE...
//! ```
//!
//! Prints, per image, a `== PATH (SECONDS s, confidence C)` line and the text; then, on
//! stderr, the count, the seconds and images per second. `--threads N` reads N images
//! at a time (one warm engine each); `--repeat R` goes over the list R times (for
//! throughput figures); `--lang`, `--psm` choose the language and page segmentation,
//! `--no-upscale` leaves small text as it is.
//! The program starts itself again with `OMP_THREAD_LIMIT=1` when it is missing (see
//! docs/ocr.md): without it Tesseract is several times slower.

use std::process::ExitCode;

use clap::Parser;
use kcl::cli::{Command, OcrArgs};

fn main() -> ExitCode {
    kcl::ensure_omp_thread_limit();
    kcl::cli::main(Command::Ocr(OcrArgs::parse()))
}
