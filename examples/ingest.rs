//! Loads sales CSV files into the configured store, with a progress bar, and prints
//! each file's ingest report.
//!
//! ```sh
//! cargo run --release --example ingest -- sales.csv more.csv --policy strict
//! cargo run --release --example ingest -- sales.csv --json   # the reports as JSON lines
//! ```
//!
//! Uses the same configuration as the server: the embedded SQLite database under
//! `KCL_DATA_DIR` by default, or `KCL_DATABASE_URL=postgres://...` (with
//! `--features aws`). Each file is recorded under its path as given; loading the
//! same content again changes nothing, and a new content under the same path
//! replaces the earlier version. Exits with 1 when a file was rejected.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kcl::domain::IngestPolicy;
use kcl::services::{IngestOptions, IngestReport, IngestStatus};
use kcl::{Config, Kcl};

/// Load sales CSV files (see docs/sales.md).
#[derive(Parser)]
struct Args {
    /// The files to load.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// `lenient` (load the valid rows; the default) or `strict` (any bad row
    /// refuses the file).
    #[arg(long, default_value = "lenient", value_parser = parse_policy)]
    policy: IngestPolicy,
    /// Print each report as one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_policy(s: &str) -> Result<IngestPolicy, String> {
    IngestPolicy::parse(s).ok_or_else(|| "must be strict or lenient".into())
}

fn print(report: &IngestReport, seconds: f64) {
    let rate = report.rows_total as f64 / seconds.max(1e-9);
    println!(
        "{}: {:?} — {} rows read, {} loaded, {} rejected ({:.2} s, {:.0} rows/s)",
        report.name,
        report.status,
        report.rows_total,
        report.rows_loaded,
        report.rows_rejected,
        seconds,
        rate
    );
    if let Some(of) = report.duplicate_of {
        println!("  same content as load {of}: nothing changed");
    }
    if let Some(old) = report.replaced {
        println!("  replaced the earlier version (load {old})");
    }
    if let Some(f) = &report.file_error {
        println!("  refused: {} ({})", f.message, f.code);
    }
    for e in &report.errors {
        println!("  line {}: {} [{}]", e.line, e.message, e.code);
    }
    if report.rows_rejected > report.errors.len() as u64 {
        println!(
            "  ... {} more rejected rows",
            report.rows_rejected - report.errors.len() as u64
        );
    }
    if let Some(k) = &report.rejected_key {
        println!("  rejected rows written to {k}");
    }
    match report.curated_keys.as_slice() {
        [] => {}
        [one] => println!("  Parquet copy {one}"),
        [first, .., last] => println!(
            "  {} Parquet copies: {first} ... {last}",
            report.curated_keys.len()
        ),
    }
    for w in &report.warnings {
        println!("  warning: {w}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    kcl::init_tracing();
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let mut rejected = false;
    for path in &args.files {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )?
            .progress_chars("=> "),
        );
        bar.set_message(path.display().to_string());
        let progress = bar.clone();
        let opts = IngestOptions {
            policy: args.policy,
            progress: Some(Arc::new(move |n| progress.set_position(n))),
        };
        let started = Instant::now();
        let name = path.display().to_string();
        let report = kcl.services.sales.ingest_path(&name, path, opts).await;
        bar.finish_and_clear();
        let report = report.map_err(|e| format!("{name}: {e}"))?;
        rejected |= report.status == IngestStatus::Rejected;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print(&report, started.elapsed().as_secs_f64());
        }
    }
    kcl.close().await;
    if rejected {
        std::process::exit(1);
    }
    Ok(())
}
