//! Validates a sales CSV file (see `docs/sales.md`) and prints the summary as JSON,
//! with the time taken and the rate, to stdout.
//!
//! `cargo run -p kcl-core --release --example sales_check -- FILE [--today YYYY-MM-DD]`

use std::fs::File;
use std::time::Instant;

use chrono::NaiveDate;
use kcl_core::domain::{validate, ValidateOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: sales_check FILE [--today YYYY-MM-DD]");
    let today = match (args.next().as_deref(), args.next()) {
        (Some("--today"), Some(d)) => {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").expect("--today YYYY-MM-DD")
        }
        _ => chrono::Local::now().date_naive(),
    };
    let file = File::open(&path).expect("opening the file");
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let result = validate(file, ValidateOptions::new(today));
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(mut s) => {
            s.errors.truncate(5);
            println!("{}", serde_json::to_string_pretty(&s).expect("json"));
            eprintln!(
                "{} rows in {secs:.3} s: {:.0} rows/s, {:.1} MB/s",
                s.rows_total,
                s.rows_total as f64 / secs,
                bytes as f64 / secs / 1e6
            );
        }
        Err(e) => {
            eprintln!("refused ({}): {e}", e.code());
            std::process::exit(1);
        }
    }
}
