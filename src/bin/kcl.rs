//! The `kcl` command: `kcl --help` lists the subcommands (see [`kcl::cli`]).
//!
//! ```sh
//! cargo install --path . --features cli        # with ,aws for the AWS profile, ,tesseract for OCR
//! kcl serve
//! ```

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a request allocates and frees hundreds of small
/// values on Tokio's worker threads, where glibc's allocator contends for its arena
/// locks (BENCHMARKS.md, "Uncached listings against `/health/live`"). A host that
/// embeds KCL chooses its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before anything else: Tesseract's OpenMP runtime reads it at load (a no-op
    // without the `tesseract` feature).
    kcl::ensure_omp_thread_limit();
    // One TLS crypto provider for the process (a no-op without the `aws` feature).
    kcl::install_crypto_provider();
    kcl::cli::main(kcl::cli::Cli::parse().command)
}
