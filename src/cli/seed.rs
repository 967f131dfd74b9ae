//! `kcl seed`: fills the configured store with synthetic books. Every book goes
//! through the catalog service's bulk import, so it is validated and audited.

use std::time::Instant;

use clap::Parser;

use super::Error;
use crate::domain::{BookDraft, ImportRow, Isbn};
use crate::{Config, Kcl};

const WORDS: &[&str] = &[
    "amor",
    "tempo",
    "cidade",
    "mar",
    "noite",
    "casa",
    "memória",
    "guerra",
    "sertão",
    "rio",
    "vento",
    "estrela",
    "sombra",
    "caminho",
    "jardim",
    "silêncio",
    "fogo",
    "viagem",
    "pedra",
    "luz",
];
const AUTHORS: &[&str] = &[
    "Machado de Assis",
    "Clarice Lispector",
    "Jorge Amado",
    "Cecília Meireles",
    "Graciliano Ramos",
    "Guimarães Rosa",
    "Rachel de Queiroz",
    "Lima Barreto",
    "Carlos Drummond",
    "Hilda Hilst",
];
const CATEGORIES: &[&str] = &[
    "Romance",
    "Poesia",
    "Contos",
    "Ensaio",
    "Teatro",
    "Crônica",
    "Infantil",
    "História",
];

/// Books handed to the catalog's bulk import at once (it stores them in
/// transactions of [`crate::services::IMPORT_BATCH`]).
const CHUNK: u64 = 100_000;

/// Fill the configured store with synthetic books (benchmarks, demos): book `k` has
/// the synthetic ISBN `k`, so seeding the same numbers twice skips them.
#[derive(Debug, Parser)]
pub struct SeedArgs {
    /// How many books.
    #[arg(default_value_t = 100_000)]
    pub count: u64,
    /// The number of the first book (to add more books to a seeded store).
    #[arg(default_value_t = 0)]
    pub offset: u64,
}

/// Runs `kcl seed`: imports the books, then prints how many and how fast.
pub async fn run(args: SeedArgs) -> Result<(), Error> {
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let started = Instant::now();
    let result = insert(&kcl, args.count, args.offset).await;
    kcl.close().await;
    let created = result?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inserted {created} books in {secs:.1} s ({:.0} books/s){}",
        created as f64 / secs.max(1e-9),
        if created < args.count {
            format!("; {} were there already", args.count - created)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Books `offset..offset + count` through the catalog's bulk import; returns how
/// many were created.
async fn insert(kcl: &Kcl, count: u64, offset: u64) -> Result<u64, Error> {
    let mut created = 0;
    let mut start = 0;
    while start < count {
        let end = (start + CHUNK).min(count);
        let rows = (start..end)
            .map(|i| {
                Ok(ImportRow {
                    line: i + 1,
                    draft: book(offset + i)?,
                })
            })
            .collect::<Result<Vec<_>, crate::ServiceError>>()
            .map_err(|e| format!("cannot make a book: {e}"))?;
        let outcome = kcl
            .services
            .catalog
            .import(rows)
            .await
            .map_err(|e| format!("cannot insert books: {e}"))?;
        created += outcome.created;
        start = end;
    }
    Ok(created)
}

/// Synthetic book number `k`.
fn book(k: u64) -> Result<BookDraft, crate::ServiceError> {
    let w = |j: u64| WORDS[((k / 7 + j * 13) % WORDS.len() as u64) as usize];
    let draft = BookDraft::builder(
        format!("{} {} {} {k}", w(0), w(1), w(2)),
        AUTHORS[(k % AUTHORS.len() as u64) as usize],
        Isbn::synthetic(k).as_str(),
    )
    .category(CATEGORIES[(k % CATEGORIES.len() as u64) as usize])
    .year(1900 + (k % 125) as i64)
    .price_cents(990 + (k % 9000) as i64)
    .copies((k % 5) as i64)
    .summary(format!("Um livro sobre {}, {} e {}.", w(3), w(4), w(5)))
    .build()?;
    Ok(draft)
}
