//! Writes a realistic synthetic sales CSV to stdout (see `docs/sales.md`).
//!
//! `cargo run -p kcl-core --release --example sales_gen -- --rows 1000000 --stores 20 --seed 1 [--bad-every N] [--semicolon] > sales.csv`

#[path = "support/sales_data.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod sales_data;

use std::io::{BufWriter, Write};

fn main() {
    let mut o = sales_data::GenOptions {
        rows: 1000,
        stores: 20,
        seed: 1,
        bad_every: 0,
        semicolon: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--rows" => o.rows = num("--rows"),
            "--stores" => o.stores = u32::try_from(num("--stores")).expect("--stores too large"),
            "--seed" => o.seed = num("--seed"),
            "--bad-every" => o.bad_every = num("--bad-every"),
            "--semicolon" => o.semicolon = true,
            other => {
                eprintln!("unknown argument {other}\nusage: sales_gen [--rows N] [--stores N] [--seed N] [--bad-every N] [--semicolon]");
                std::process::exit(2);
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    sales_data::generate(&o, &mut out).expect("writing to stdout");
    out.flush().expect("writing to stdout");
}
