//! Catalog throughput on the in-memory and the embedded SQLite adapters, side by side.
//!
//! ```sh
//! cargo bench --bench catalog
//! ```
//!
//! Each store holds 10,000 synthetic books. Figures are recorded in BENCHMARKS.md.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use kcl::domain::{BookDraft, BookId, Isbn};
use kcl::memory::MemoryBackend;
use kcl::services::{ListBooks, Ports};
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

fn backends(rt: &Runtime) -> Vec<(&'static str, Services, tempfile::TempDir)> {
    let mem = MemoryBackend::new().services();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = rt.block_on(async {
        let store = kcl::local::SqliteStore::open(&dir.path().join("bench.db"))
            .await
            .expect("open");
        let shared = Arc::new(store);
        let mut ports: Ports = MemoryBackend::new().ports();
        ports.books = shared.clone();
        ports.rentals = shared.clone();
        ports.audit = shared;
        Services::new(ports)
    });
    vec![
        ("memory", mem, tempfile::tempdir().expect("tempdir")),
        ("sqlite", sqlite, dir),
    ]
}

fn catalog(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    for (name, s, _dir) in backends(&rt) {
        let some_id = rt.block_on(seed(&s));
        let mut g = c.benchmark_group(format!("catalog/{name}"));
        g.bench_function("list first page (limit 20)", |b| {
            b.to_async(&rt).iter(|| async {
                s.catalog
                    .list(ListBooks {
                        limit: Some(20),
                        ..Default::default()
                    })
                    .await
                    .expect("list")
            })
        });
        let second = rt
            .block_on(s.catalog.list(ListBooks {
                limit: Some(20),
                sort: Some("-year".into()),
                ..Default::default()
            }))
            .expect("list")
            .next_cursor;
        g.bench_function("list page 2, sort -year", |b| {
            b.to_async(&rt).iter(|| async {
                s.catalog
                    .list(ListBooks {
                        limit: Some(20),
                        sort: Some("-year".into()),
                        cursor: second.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("list")
            })
        });
        g.bench_function("filter category + available + year range", |b| {
            b.to_async(&rt).iter(|| async {
                s.catalog
                    .list(ListBooks {
                        category: Some("poesia".into()),
                        available_only: true,
                        year_from: Some(1950),
                        year_to: Some(2000),
                        limit: Some(20),
                        ..Default::default()
                    })
                    .await
                    .expect("list")
            })
        });
        g.bench_function("search \"amor cid\"", |b| {
            b.to_async(&rt).iter(|| async {
                s.catalog
                    .list(ListBooks {
                        q: Some("amor cid".into()),
                        limit: Some(20),
                        ..Default::default()
                    })
                    .await
                    .expect("search")
            })
        });
        g.bench_function("get (cached)", |b| {
            b.to_async(&rt)
                .iter(|| async { s.catalog.get(some_id).await.expect("get") })
        });
        g.bench_function("rent + return", |b| {
            b.to_async(&rt).iter(|| async {
                let r = s.rentals.rent(some_id, "bench", None).await.expect("rent");
                s.rentals.return_rental(r.id).await.expect("return")
            })
        });
        g.finish();
    }
}

criterion_group!(benches, catalog);
criterion_main!(benches);
