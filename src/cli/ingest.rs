//! `kcl ingest`: loads sales CSV files (see `docs/sales.md`), with a progress bar, and
//! prints each file's ingest report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use super::Error;
use crate::domain::{DateOrder, IngestPolicy, SalesFormat};
use crate::services::{IngestOptions, IngestReport, IngestStatus};
use crate::{Config, Kcl};

/// Load sales CSV files into the configured store (see docs/sales.md). Each file is
/// recorded under its path as given: the same content again changes nothing, a new
/// content under the same path replaces the earlier version. Fails when a file was
/// rejected.
#[derive(Debug, Parser)]
pub struct IngestArgs {
    /// The files to load.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `lenient` (load the valid rows) or `strict` (any bad row refuses the file).
    #[arg(long, default_value = "lenient", value_parser = parse_policy)]
    pub policy: IngestPolicy,
    /// Which of your headers holds each of KCL's columns, for files that name them
    /// otherwise: `store_id:Branch,sku:Product line,sale_date:Date`.
    #[arg(long, value_name = "MAPPING")]
    pub columns: Option<String>,
    /// The order of dates written with slashes: `dmy` (the default), `mdy` or `ymd`.
    #[arg(long, value_name = "ORDER")]
    pub date_order: Option<String>,
    /// The tax rate, in percent, that the files' `total` column includes (`5`).
    #[arg(long, value_name = "PERCENT")]
    pub tax_rate: Option<String>,
    /// Print each report as one JSON line instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_policy(s: &str) -> Result<IngestPolicy, String> {
    IngestPolicy::parse(s).ok_or_else(|| "must be strict or lenient".into())
}

/// Runs `kcl ingest`.
pub async fn run(args: IngestArgs) -> Result<(), Error> {
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let result = load_all(&kcl, &args).await;
    kcl.close().await;
    let rejected = result?;
    match rejected {
        0 => Ok(()),
        n => Err(format!("{n} of {} file(s) rejected", args.files.len()).into()),
    }
}

/// Loads every file; the number rejected.
async fn load_all(kcl: &Kcl, args: &IngestArgs) -> Result<usize, Error> {
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )?
    .progress_chars("=> ");
    let format = SalesFormat::parse(
        args.columns.as_deref(),
        args.date_order.as_deref(),
        args.tax_rate.as_deref(),
    )
    .map_err(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))?;
    let format = (!format.is_default()).then_some(format);
    let mut rejected = 0;
    for path in &args.files {
        let name = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{name}: {e}"))?
            .len();
        let bar = ProgressBar::new(size).with_style(style.clone());
        bar.set_message(name.clone());
        let progress = bar.clone();
        let opts = IngestOptions {
            policy: args.policy,
            progress: Some(Arc::new(move |n| progress.set_position(n))),
            format: format.clone(),
        };
        let started = Instant::now();
        let report = kcl.services.sales.ingest_path(&name, path, opts).await;
        bar.finish_and_clear();
        let report = report.map_err(|e| format!("{name}: {e}"))?;
        if report.status == IngestStatus::Rejected {
            rejected += 1;
        }
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print(&report, started.elapsed().as_secs_f64());
        }
    }
    Ok(rejected)
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
    if let Some(order) = report.date_order.filter(|o| *o != DateOrder::Dmy) {
        println!("  dates read as {order}");
    }
    if !report.ignored_columns.is_empty() {
        println!("  columns ignored: {}", report.ignored_columns.join(", "));
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
