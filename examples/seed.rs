//! Fills the configured store with synthetic books (for benchmarks and demos).
//!
//! ```sh
//! cargo run --release --example seed -- 100000
//! ```
//!
//! Uses the same configuration as the server (`KCL_DATA_DIR`, `KCL_DATABASE_URL`).
//! Every book goes through the catalog service, so it is validated and audited.

use std::time::Instant;

use kcl::domain::{BookDraft, Isbn};
use kcl::{Config, Kcl};

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let offset: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(0);
    let config = Config::from_env()?;
    let kcl = Kcl::open(&config).await?;
    let started = Instant::now();
    let tasks = 4;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let catalog = kcl.services.catalog.clone();
        handles.push(tokio::spawn(async move {
            let mut i = t;
            while i < n {
                let k = offset + i;
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
                .build()
                .expect("synthetic books are valid");
                catalog.create(draft).await?;
                i += tasks;
            }
            Ok::<_, kcl::ServiceError>(())
        }));
    }
    for h in handles {
        h.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inserted {n} books in {secs:.1} s ({:.0} books/s)",
        n as f64 / secs
    );
    kcl.close().await;
    Ok(())
}
