//! Catalog throughput of the services on the in-memory and the embedded SQLite
//! adapters, side by side, with the listing cache on (the default) and off.
//!
//! ```sh
//! cargo bench --bench catalog
//! ```
//!
//! Each store holds 10,000 synthetic books. Figures are recorded in BENCHMARKS.md.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kcl::domain::{BookDraft, BookId, Isbn};
use kcl::memory::MemoryBackend;
use kcl::services::{ListBooks, Ports, Settings};
use kcl::Services;
use tokio::runtime::Runtime;

const BOOKS: u64 = 10_000;
const WORDS: &[&str] = &[
    "amor", "tempo", "cidade", "mar", "noite", "casa", "memória", "guerra", "sertão", "rio",
];
const CATEGORIES: &[&str] = &["Romance", "Poesia", "Contos", "Ensaio"];

async fn seed(s: &Services) -> BookId {
    let mut last = None;
    for k in 0..BOOKS {
        let w = |j: u64| WORDS[((k / 3 + j * 7) % WORDS.len() as u64) as usize];
        let d = BookDraft::builder(
            format!("{} {} {k}", w(0), w(1)),
            format!("Autor {}", k % 100),
            Isbn::synthetic(k).as_str(),
        )
        .category(CATEGORIES[(k % 4) as usize])
        .year(1900 + (k % 125) as i64)
        .price_cents(1000 + k as i64)
        .copies((k % 3) as i64 + 1)
        .summary(format!("Sobre {} e {}.", w(2), w(3)))
        .build()
        .expect("valid");
        last = Some(s.catalog.create(d).await.expect("create").id);
    }
    last.expect("at least one book")
}

/// The same ports twice: with the default settings and with listing caching off.
fn variants(ports: Ports) -> [(&'static str, Services); 2] {
    let mut uncached = Settings::default();
    uncached.list_cache_ttl = Duration::ZERO;
    [
        ("cached", Services::new(ports.clone())),
        ("uncached", Services::with_settings(ports, &uncached)),
    ]
}

fn listings(c: &mut Criterion, rt: &Runtime, backend: &str, ports: Ports) {
    let mut book = None;
    for (cache, s) in variants(ports) {
        let some_id = match book {
            Some(id) => id,
            None => *book.insert(rt.block_on(seed(&s))),
        };
        let mut g = c.benchmark_group(format!("catalog/{backend}/{cache}"));
        let page2 = rt
            .block_on(s.catalog.list(ListBooks {
                limit: Some(20),
                sort: Some("-year".into()),
                ..Default::default()
            }))
            .expect("list")
            .next_cursor;
        let asks = [
            (
                "list first page (limit 20)",
                ListBooks {
                    limit: Some(20),
                    ..Default::default()
                },
            ),
            (
                "list page 2, sort -year",
                ListBooks {
                    limit: Some(20),
                    sort: Some("-year".into()),
                    cursor: page2,
                    ..Default::default()
                },
            ),
            (
                "filter category + available + years",
                ListBooks {
                    category: Some("poesia".into()),
                    available_only: true,
                    year_from: Some(1950),
                    year_to: Some(2000),
                    limit: Some(20),
                    ..Default::default()
                },
            ),
            (
                "search \"amor tem\"",
                ListBooks {
                    q: Some("amor tem".into()),
                    limit: Some(20),
                    ..Default::default()
                },
            ),
        ];
        for (name, ask) in asks {
            assert!(
                !rt.block_on(s.catalog.list(ask.clone()))
                    .expect("list")
                    .items
                    .is_empty(),
                "{name}"
            );
            g.bench_function(name, |b| {
                b.to_async(rt)
                    .iter(|| async { s.catalog.list(ask.clone()).await.expect("list") })
            });
        }
        if cache == "cached" {
            g.bench_function("get by id", |b| {
                b.to_async(rt)
                    .iter(|| async { s.catalog.get(some_id).await.expect("get") })
            });
            g.bench_function("rent + return (two writes, two audit events)", |b| {
                b.to_async(rt).iter(|| async {
                    let r = s.rentals.rent(some_id, "bench", None).await.expect("rent");
                    s.rentals.return_rental(r.id).await.expect("return")
                })
            });
        }
        g.finish();
    }
}

fn catalog(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    listings(c, &rt, "memory", MemoryBackend::new().ports());
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = rt.block_on(async {
        let store = kcl::local::SqliteStore::open(&dir.path().join("bench.db"))
            .await
            .expect("open");
        let shared = Arc::new(store);
        let mut ports = MemoryBackend::new().ports();
        ports.books = shared.clone();
        ports.rentals = shared.clone();
        ports.audit = shared;
        ports
    });
    listings(c, &rt, "sqlite", ports);
}

criterion_group!(benches, catalog);
criterion_main!(benches);
