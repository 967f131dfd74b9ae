//! Sales reports: a period's lines per day, store and SKU, as CSV (safe to open in
//! a spreadsheet) or PDF.

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ReportLine;
use crate::domain::Money;

/// What a report covers, printed at its top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportMeta {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The store, or every store.
    pub store: Option<String>,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// True when the period had more lines than the report holds.
    pub truncated: bool,
    /// How numbers and dates are written (and, in a CSV report, its delimiter).
    #[serde(default)]
    pub locale: crate::domain::Locale,
}

/// Neutralises a spreadsheet formula: a cell starting with `=`, `+`, `-`, `@`
/// (or a tab or carriage return, which some spreadsheets skip before reading a
/// formula) gets a leading `'`, so it is shown as text and never evaluated.
///
/// A spreadsheet may also split the file on another separator than the one it was
/// written with (`;` is the default where the decimal mark is a comma, as in
/// Brazil), so every part after a `;`, `,` or tab is treated as a cell of its own,
/// and neutralised the same way (after any spaces or quotes it starts with).
///
/// ```
/// use kcl_core::domain::neutralise_cell;
/// assert_eq!(neutralise_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
/// assert_eq!(neutralise_cell("@SUM(A1)"), "'@SUM(A1)");
/// assert_eq!(neutralise_cell("safe;=1+1"), "safe;'=1+1");
/// assert_eq!(neutralise_cell("a, \"+1"), "a,' \"+1");
/// assert_eq!(neutralise_cell("Café; pão, leite"), "Café; pão, leite");
/// ```
pub fn neutralise_cell(value: &str) -> Cow<'_, str> {
    const SEPARATORS: [char; 3] = [';', ',', '\t'];
    let risky = |part: &str| {
        matches!(
            part.trim_start_matches([' ', '"']).as_bytes().first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        )
    };
    let first_risky = matches!(
        value.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) || risky(value);
    let later_risky = value
        .match_indices(SEPARATORS)
        .any(|(i, sep)| risky(&value[i + sep.len()..]));
    if !first_risky && !later_risky {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 4);
    if first_risky {
        out.push('\'');
    }
    let mut rest = value;
    while let Some(i) = rest.find(SEPARATORS) {
        let sep_len = rest[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..i + sep_len]);
        rest = &rest[i + sep_len..];
        if risky(rest) {
            out.push('\'');
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Writes a CSV report: a header, one row per line, and a total row. Text cells
/// (store, SKU, product name) are [neutralised](neutralise_cell). In English
/// (`meta.locale`), `,` between cells, `.` decimals, ISO dates; in pt-BR, what a
/// Brazilian spreadsheet opens as it is: a UTF-8 byte order mark, `;` between
/// cells, `,` decimals (never grouped), dd/mm/aaaa and Portuguese headers. `revenue` includes tax; `tax` and
/// `revenue_before_tax` follow it (the tax is 0 unless the files were read with a
/// tax rate).
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use kcl_core::domain::{write_csv_report, Locale, Quantity, ReportLine, ReportMeta};
///
/// let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let mut meta = ReportMeta { from: day, to: day, store: None,
///     generated_at: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(), truncated: false,
///     locale: Locale::En };
/// let lines = [ReportLine { date: day, store_id: "S1".into(), sku: "789".into(),
///     product_name: Some("=cmd|' /C calc'!A0".into()), lines: 2,
///     quantity: Quantity::from_thousandths(3000), revenue_cents: 1050, tax_cents: 50 }];
/// let mut out = Vec::new();
/// write_csv_report(&meta, &lines, &mut out).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("date,store_id,sku,product_name,lines,quantity,revenue,tax,revenue_before_tax\n"));
/// assert!(text.contains("2026-11-23,S1,789,'=cmd|' /C calc'!A0,2,3.000,10.50,0.50,10.00"));
/// assert!(text.ends_with("total,,,,2,3.000,10.50,0.50,10.00\n"));
///
/// // pt-BR: a byte order mark, `;`, decimal commas, dd/mm/aaaa, Portuguese headers.
/// meta.locale = Locale::PtBr;
/// let mut out = Vec::new();
/// write_csv_report(&meta, &lines, &mut out).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("\u{feff}data;loja;codigo;produto;linhas;quantidade;receita;imposto;receita_sem_imposto\n"));
/// assert!(text.contains("23/11/2026;S1;789;'=cmd|' /C calc'!A0;2;3,000;10,50;0,50;10,00\n"));
/// ```
pub fn write_csv_report<W: Write>(
    meta: &ReportMeta,
    lines: &[ReportLine],
    out: W,
) -> io::Result<()> {
    let locale = meta.locale;
    let pt = locale == crate::domain::Locale::PtBr;
    let mut out = out;
    if pt {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(if pt { b';' } else { b',' })
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    w.write_record(if pt {
        [
            "data",
            "loja",
            "codigo",
            "produto",
            "linhas",
            "quantidade",
            "receita",
            "imposto",
            "receita_sem_imposto",
        ]
    } else {
        [
            "date",
            "store_id",
            "sku",
            "product_name",
            "lines",
            "quantity",
            "revenue",
            "tax",
            "revenue_before_tax",
        ]
    })?;
    let amount = |c: i128| locale.decimal(c, 2, false);
    // Sums in i128: a period's totals may pass what one line's i64 holds.
    let (mut n, mut q, mut r, mut t) = (0u128, 0i128, 0i128, 0i128);
    for l in lines {
        n += u128::from(l.lines);
        q += i128::from(l.quantity.thousandths());
        r += i128::from(l.revenue_cents);
        t += i128::from(l.tax_cents);
        w.write_record([
            locale.date(l.date).as_str(),
            &neutralise_cell(&l.store_id),
            &neutralise_cell(&l.sku),
            &neutralise_cell(l.product_name.as_deref().unwrap_or("")),
            &l.lines.to_string(),
            &locale.quantity(l.quantity.thousandths()),
            &amount(i128::from(l.revenue_cents)),
            &amount(i128::from(l.tax_cents)),
            &amount(i128::from(l.revenue_cents) - i128::from(l.tax_cents)),
        ])?;
    }
    w.write_record([
        "total",
        "",
        "",
        "",
        &n.to_string(),
        &locale.decimal(q, 3, false),
        &amount(r),
        &amount(t),
        &amount(r - t),
    ])?;
    w.flush()?;
    Ok(())
}

/// An amount in cents as exact decimal text: `1234.56`, `-0.05` (totals of stock
/// or corrections can be negative, which [`Money`] is not).
///
/// ```
/// use kcl_core::domain::format_cents;
/// assert_eq!(format_cents(370_350), "3703.50");
/// assert_eq!(format_cents(-5), "-0.05");
/// ```
pub fn format_cents(cents: i64) -> String {
    match Money::from_cents(cents) {
        Ok(m) => m.to_string(),
        Err(_) => {
            let a = cents.unsigned_abs();
            let sign = if cents < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", a / 100, a % 100)
        }
    }
}
