//! Parse + validate throughput of the sales CSV reader on an in-memory generated
//! file (200,000 rows): rows/s and bytes/s.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

#[path = "../examples/support/sales_data.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod sales_data;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcl_core::domain::{validate, ValidateOptions};

const ROWS: u64 = 200_000;

fn bench(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    for semicolon in [false, true] {
        let mut file = Vec::new();
        let o = sales_data::GenOptions {
            rows: ROWS,
            stores: 20,
            seed: 1,
            bad_every: 0,
            semicolon,
        };
        sales_data::generate(&o, &mut file).expect("generate");
        let name = if semicolon { "semicolon" } else { "comma" };
        let mut g = c.benchmark_group(format!("sales_validate_{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(ROWS));
        g.bench_function("rows", |b| {
            b.iter(|| {
                let s = validate(&file[..], ValidateOptions::new(today)).expect("valid file");
                assert_eq!(s.rows_valid, ROWS);
            })
        });
        g.throughput(Throughput::Bytes(file.len() as u64));
        g.bench_function("bytes", |b| {
            b.iter(|| validate(&file[..], ValidateOptions::new(today)).expect("valid file"))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
