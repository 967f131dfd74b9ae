//! The `kcl` command (feature `cli`): a thin [`clap`] front over the library, one
//! function per subcommand, so the examples and the binary run the same code.
//!
//! ```sh
//! cargo install --path . --features cli          # or cli,aws / cli,tesseract
//! kcl --help
//! kcl serve                                      # what `cargo run --example server` runs
//! KCL_WORKER=off kcl serve & KCL_WORKER_ADDR=127.0.0.1:9090 kcl worker
//! ```
//!
//! Every subcommand takes its configuration from the `KCL_*` environment (see
//! [`config`](crate::config)); options stand only for what is not configuration (the
//! files to load, how many books to seed). A failure prints one line
//! `kcl: <message>` on stderr and exits with 1; bad arguments exit with 2.

mod auth;
mod backup;
mod import;
mod ingest;
mod migrate;
mod ocr;
mod provision;
mod seed;
mod thumbnail;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use auth::{run as auth, AuthCommand};
pub use backup::{backup, restore, BackupArgs, RestoreArgs};
pub use import::{run as import, ImportArgs};
pub use ingest::{run as ingest, IngestArgs};
pub use migrate::run as migrate;
pub use ocr::{run as ocr, OcrArgs};
pub use provision::run as provision;
pub use seed::{run as seed, SeedArgs};
pub use thumbnail::{run as thumbnail, ThumbnailArgs};

/// Why a subcommand failed: its message is the line `kcl: <message>`.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The `kcl` command line: `kcl [--help | --version] <COMMAND>`.
#[derive(Debug, Parser)]
#[command(
    name = "kcl",
    version,
    about,
    long_about = None,
    after_help = "Configuration comes from the KCL_* environment (see docs/operations.md); \
                  with none set, the embedded profile under ./kcl-data."
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (REST API, web UI, /health, /metrics) on KCL_HTTP_ADDR,
    /// with the queue worker in-process unless KCL_WORKER=off.
    Serve,
    /// Run the queue workers alone (thumbnails, OCR) until Ctrl-C or SIGTERM; with
    /// KCL_WORKER_ADDR, serve /health/live, /health and /metrics there.
    Worker,
    /// Load sales CSV files into the configured store, with a progress bar.
    Ingest(IngestArgs),
    /// Import books from CSV files into the configured catalog.
    Import(ImportArgs),
    /// Create the buckets, queues and tables the environment names, if missing, then
    /// check every adapter.
    Provision,
    /// Open the configured database, apply its pending migrations, and exit.
    Migrate,
    /// Fill the configured store with synthetic books (benchmarks, demos).
    Seed(SeedArgs),
    /// Thumbnail every image of a folder into another.
    Thumbnail(ThumbnailArgs),
    /// Read the text of images with Tesseract (a build with the `tesseract` feature).
    Ocr(OcrArgs),
    /// Copy the embedded profile's database, blobs and auth.json into a new folder,
    /// consistently, while the server runs.
    Backup(BackupArgs),
    /// Put a backup in place of the embedded profile's data (the server stopped).
    Restore(RestoreArgs),
    /// Password hashes for a users file, and API tokens.
    #[command(subcommand)]
    Auth(AuthCommand),
}

/// Runs `command` to the end: logs to stderr as the hosts do (`KCL_LOG`,
/// `KCL_LOG_FORMAT`), then the subcommand on a Tokio runtime.
pub fn run(command: Command) -> Result<(), Error> {
    crate::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the Tokio runtime: {e}"))?;
    runtime.block_on(async move {
        match command {
            Command::Serve => crate::serve_from_env(crate::shutdown_signal()).await,
            Command::Worker => crate::work_from_env(crate::shutdown_signal()).await,
            Command::Ingest(args) => ingest(args).await,
            Command::Provision => provision().await,
            Command::Migrate => migrate().await,
            Command::Seed(args) => seed(args).await,
            Command::Import(args) => import(args).await,
            Command::Backup(args) => backup(args).await,
            Command::Restore(args) => restore(args).await,
            // Blocking, on threads of their own: the runtime has nothing else to do.
            Command::Thumbnail(args) => thumbnail(args),
            Command::Ocr(args) => ocr(args),
            Command::Auth(command) => auth(command),
        }
    })
}

/// [`run`], and its failure as the line `kcl: <message>` on stderr with exit code 1:
/// the `main` of the `kcl` binary and of the examples.
pub fn main(command: Command) -> ExitCode {
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcl: {e}");
            ExitCode::FAILURE
        }
    }
}
