//! Realistic synthetic sales files (shared by the `sales_gen` example and the
//! `sales` bench).

use std::io::{self, Write};

/// What to generate.
pub struct GenOptions {
    pub rows: u64,
    pub stores: u32,
    pub seed: u64,
    /// Inject an invalid row every N rows (0: never).
    pub bad_every: u64,
    /// `;` with comma decimals (Brazilian Excel) instead of `,` with dot decimals.
    pub semicolon: bool,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PRODUCTS: &[(&str, bool, i64)] = &[
    ("Café torrado e moído 500 g", false, 1890),
    ("Açúcar refinado 1 kg", false, 479),
    ("Feijão carioca 1 kg", false, 899),
    ("Arroz agulhinha tipo 1 5 kg", false, 2790),
    ("Pão francês", true, 1699),
    ("Banana prata", true, 599),
    ("Maçã gala", true, 1099),
    ("Queijo muçarela fatiado", true, 5490),
    ("Presunto cozido", true, 3990),
    ("Leite UHT integral 1 L", false, 549),
    ("Óleo de soja 900 ml", false, 729),
    ("Sabão em pó 1,6 kg", false, 2199),
    ("Refrigerante guaraná 2 L", false, 899),
    ("Cerveja pilsen lata 350 ml", false, 389),
    ("Biscoito recheado \"chocolate\" 130 g", false, 299),
    ("Detergente líquido 500 ml", false, 259),
    ("Carne moída patinho", true, 4290),
    ("Frango inteiro congelado", true, 1390),
    ("Tomate italiano", true, 899),
    ("Cebola", true, 499),
];

fn money(cents: i64, comma: bool) -> String {
    let s = format!("{}.{:02}", cents / 100, cents % 100);
    if comma {
        s.replace('.', ",")
    } else {
        s
    }
}

fn qty(milli: i64, comma: bool) -> String {
    let s = if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{}.{:03}", milli / 1000, milli % 1000)
    };
    if comma {
        s.replace('.', ",")
    } else {
        s
    }
}

/// Writes a file: header, then receipts of 1..=12 lines, dates in the year before
/// 2026-11-30 (days since the epoch counted by hand to keep this std-only).
pub fn generate(o: &GenOptions, out: &mut impl Write) -> io::Result<()> {
    let mut rng = Rng(o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let d = if o.semicolon { ';' } else { ',' };
    let comma = o.semicolon;
    let q = |s: String| {
        if comma {
            s
        } else if s.contains(',') {
            format!("\"{s}\"")
        } else {
            s
        }
    };
    writeln!(
        out,
        "store_id{d}sale_date{d}receipt_id{d}sku{d}product_name{d}quantity{d}unit_price{d}total"
    )?;
    let mut written = 0u64;
    let mut receipt = 100_000u64;
    // 365 consecutive days ending 2026-11-30.
    let days: Vec<(u32, u32, u32)> = {
        let mut v = Vec::new();
        let (mut y, mut m, mut day) = (2025u32, 12u32, 1u32);
        let dim = |y: u32, m: u32| match m {
            2 if y.is_multiple_of(4) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        for _ in 0..365 {
            v.push((y, m, day));
            day += 1;
            if day > dim(y, m) {
                day = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        v
    };
    while written < o.rows {
        receipt += 1;
        let store = rng.below(u64::from(o.stores)) + 1;
        let (y, m, day) = days[(written * 365 / o.rows.max(1)) as usize % 365];
        let date = if rng.below(2) == 0 {
            format!("{y:04}-{m:02}-{day:02}")
        } else {
            format!("{day:02}/{m:02}/{y:04}")
        };
        let lines = 1 + rng.below(12);
        let first = rng.below(PRODUCTS.len() as u64) as usize;
        for k in 0..lines {
            if written >= o.rows {
                break;
            }
            written += 1;
            let (name, by_weight, price) = PRODUCTS[(first + k as usize) % PRODUCTS.len()];
            let price = price + rng.below(50) as i64 - 25;
            let milli = if by_weight {
                100 + rng.below(2400) as i64
            } else {
                1000 * (1 + rng.below(4) as i64)
            };
            let total = (milli * price + 500) / 1000;
            let sku = format!(
                "{:013}",
                7_891_000_000_000u64 + ((first as u64 + k) % PRODUCTS.len() as u64) * 101
            );
            let total_s = if rng.below(4) == 0 {
                String::new()
            } else {
                q(money(total, comma))
            };
            let mut row = format!(
                "L{store:03}{d}{date}{d}{receipt}{d}{sku}{d}{}{d}{}{d}{}{d}{total_s}",
                csv_quote(name, d),
                q(qty(milli, comma)),
                q(money(price, comma)),
            );
            if o.bad_every > 0 && written.is_multiple_of(o.bad_every) {
                row = match rng.below(5) {
                    0 => row.replacen(&date, "31/02/2026", 1),
                    1 => format!("L{store:03}{d}{date}{d}{receipt}{d}{sku}{d}x{d}-1{d}1{d}"),
                    2 => row.replace(d, if comma { "," } else { ";" }),
                    3 => format!("L{store:03}{d}{date}{d}{receipt}{d}{sku}{d}=cmd|' /C calc'!A0{d}1{d}abc{d}"),
                    _ => format!("L{store:03}{d}2099-01-01{d}{receipt}{d}SKU!{d}{d}1{d}1{d}"),
                };
            }
            out.write_all(row.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn csv_quote(s: &str, d: char) -> String {
    if s.contains(d) || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
