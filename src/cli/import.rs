//! `kcl import`: loads books CSV files into the configured catalog, as
//! `POST /api/books/import` does (see [`crate::domain::parse_book_import`]).

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use super::Error;
use crate::domain::parse_book_import;
use crate::{Config, Kcl};

/// The largest books file read (a CSV of 100,000 books is a few tens of MiB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Import books from CSV files: a header row (`title,author,isbn,year` and
/// optionally `category,copies,price,summary`, or their Portuguese names), one book
/// per row. Every row is checked before anything is stored; books whose ISBN is
/// already in the catalog are skipped, so a file can be imported again.
#[derive(Debug, Parser)]
pub struct ImportArgs {
    /// The CSV files, imported in turn.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `kcl import`: each file in turn; stops at the first file refused.
pub async fn run(args: ImportArgs) -> Result<(), Error> {
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let result = import_all(&kcl, &args.files).await;
    kcl.close().await;
    result
}

async fn import_all(kcl: &Kcl, files: &[PathBuf]) -> Result<(), Error> {
    for path in files {
        let shown = path.display();
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| format!("{shown}: {e}"))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(format!(
                "{shown}: {size} bytes; at most {MAX_FILE_BYTES} are read: split the file"
            )
            .into());
        }
        let data = tokio::fs::read(path)
            .await
            .map_err(|e| format!("{shown}: {e}"))?;
        let started = Instant::now();
        let rows = tokio::task::spawn_blocking(move || parse_book_import(&data))
            .await
            .map_err(|e| format!("{shown}: {e}"))?
            .map_err(|e| {
                let lines: Vec<String> = e
                    .errors
                    .iter()
                    .map(|f| format!("  {}: {} ({})", f.field, f.message, f.code))
                    .collect();
                format!("{shown}: refused, nothing imported:\n{}", lines.join("\n"))
            })?;
        let outcome = kcl
            .services
            .catalog
            .import(rows)
            .await
            .map_err(|e| format!("{shown}: {e}"))?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{shown}: {} books created, {} skipped (already in the catalog) in {secs:.1} s \
             ({:.0} books/s)",
            outcome.created,
            outcome.skipped,
            (outcome.created + outcome.skipped) as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}
