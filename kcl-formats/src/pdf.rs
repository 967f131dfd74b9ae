//! PDF sales reports: a small layout engine over `pdf-writer` (A4, built-in
//! Helvetica, no fonts embedded), behind core's [`ReportWriter`] port.

use std::ops::Range;

use chrono::{Datelike, Timelike};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use unicode_normalization::UnicodeNormalization;

use bytes::Bytes;
use kcl_core::domain::{Locale, ReportLine, ReportMeta};
use kcl_core::ports::{ReportError, ReportWriter};

/// The PDF [`ReportWriter`]: [`write_pdf_report`] behind the port.
///
/// ```
/// use kcl_core::ports::ReportWriter;
/// let pdf = kcl_formats::pdf::PdfReports;
/// assert_eq!((pdf.extension(), pdf.media_type()), ("pdf", "application/pdf"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PdfReports;

impl ReportWriter for PdfReports {
    fn extension(&self) -> &'static str {
        "pdf"
    }

    fn media_type(&self) -> &'static str {
        "application/pdf"
    }

    fn render(&self, meta: &ReportMeta, lines: &[ReportLine]) -> Result<Bytes, ReportError> {
        Ok(Bytes::from(write_pdf_report(meta, lines)))
    }
}

/// Renders the report as a PDF (A4, built-in Helvetica, no fonts embedded): a title
/// with the period, store and generation time, a table of the lines (date, store,
/// SKU, product, lines, quantity, revenue), page breaks with the header repeated,
/// and the totals at the end; a note when `meta.truncated`.
///
/// Text is written in WinAnsi (Windows-1252): other characters print as `?`.
/// Store ids, SKUs and product names too long for their column are cut with `…`;
/// numbers too wide for theirs are printed smaller. Never panics, whatever the
/// input; an empty `lines` gives one page saying there were no sales.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use kcl_core::domain::{Locale, Quantity, ReportLine, ReportMeta};
/// use kcl_formats::pdf::write_pdf_report;
///
/// let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let meta = ReportMeta { from: day, to: day, store: Some("S1".into()),
///     generated_at: Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap(), truncated: false,
///     locale: Locale::En };
/// let lines = [ReportLine { date: day, store_id: "S1".into(), sku: "789".into(),
///     product_name: Some("Café (500 g)".into()), lines: 2,
///     quantity: Quantity::from_thousandths(3000), revenue_cents: 1050, tax_cents: 0 }];
/// let pdf = write_pdf_report(&meta, &lines);
/// assert!(pdf.starts_with(b"%PDF-"));
/// assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
/// ```
pub fn write_pdf_report(meta: &ReportMeta, lines: &[ReportLine]) -> Vec<u8> {
    render(meta, lines)
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const RIGHT: f32 = PAGE_W - MARGIN;
const FONT: Name<'static> = Name(b"F1");
const TITLE_SIZE: f32 = 16.0;
const META_SIZE: f32 = 9.0;
const META_H: f32 = 12.0;
const TEXT_SIZE: f32 = 8.0;
const MIN_TEXT_SIZE: f32 = 4.0;
const FOOTER_SIZE: f32 = 7.0;
const HEADER_H: f32 = 16.0;
const ROW_H: f32 = 11.0;
/// The lowest a table row may reach (the footer is below).
const BOTTOM: f32 = MARGIN + 12.0;
/// Rows the totals take: a gap, the total row and, when truncated, a note.
const TOTAL_ROWS: usize = 2;
/// WinAnsi's ellipsis.
const ELLIPSIS: u8 = 0x85;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

struct Column {
    /// Its title's index in [`Words::columns`].
    title: usize,
    x: f32,
    width: f32,
    align: Align,
}

const fn col(title: usize, x: f32, end: f32, align: Align) -> Column {
    Column {
        title,
        x,
        width: end - x,
        align,
    }
}

const DATE: usize = 0;
const LINES: usize = 4;
const COLUMNS: [Column; 7] = [
    col(0, MARGIN, 92.0, Align::Left),
    col(1, 96.0, 154.0, Align::Left),
    col(2, 158.0, 224.0, Align::Left),
    col(3, 228.0, 388.0, Align::Left),
    col(4, 392.0, 428.0, Align::Right),
    col(5, 432.0, 484.0, Align::Right),
    col(6, 488.0, RIGHT, Align::Right),
];

/// The report's own words, in its locale (numbers and dates follow the locale
/// through [`Locale`]'s formatting).
struct Words {
    title: &'static str,
    /// `{title} {from} to {to}`: the words before and between the two days.
    from: &'static str,
    to: &'static str,
    continued: &'static str,
    period: &'static str,
    store: &'static str,
    all_stores: &'static str,
    generated: &'static str,
    generated_lower: &'static str,
    truncated: &'static str,
    no_sales: &'static str,
    /// `Page {n} of {pages}`.
    page: &'static str,
    of: &'static str,
    total: &'static str,
    /// `Revenue includes tax of {tax}; before tax: {before}.`
    tax: &'static str,
    before_tax: &'static str,
    columns: [&'static str; 7],
}

const EN: Words = Words {
    title: "Sales report",
    from: "",
    to: "to",
    continued: "(continued)",
    period: "Period",
    store: "Store",
    all_stores: "all stores",
    generated: "Generated",
    generated_lower: "generated",
    truncated: "Note: the period has more lines than the report holds; only the lines listed are counted in the totals.",
    no_sales: "No sales in this period.",
    page: "Page",
    of: "of",
    total: "Total",
    tax: "Revenue includes tax of",
    before_tax: "before tax",
    columns: ["Date", "Store", "SKU", "Product", "Lines", "Quantity", "Revenue"],
};

const PT_BR: Words = Words {
    title: "Relatório de vendas",
    from: "de",
    to: "a",
    continued: "(continuação)",
    period: "Período",
    store: "Loja",
    all_stores: "todas as lojas",
    generated: "Gerado",
    generated_lower: "gerado em",
    truncated: "Observação: o período tem mais linhas do que o relatório comporta; só as linhas listadas entram nos totais.",
    no_sales: "Nenhuma venda neste período.",
    page: "Página",
    of: "de",
    total: "Total",
    tax: "A receita inclui impostos de",
    before_tax: "sem impostos",
    columns: ["Data", "Loja", "SKU", "Produto", "Linhas", "Quantidade", "Receita"],
};

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::PtBr => &PT_BR,
        _ => &EN,
    }
}

/// `2026-11-23 14:05 UTC` / `23/11/2026 14:05 UTC` (with `:SS` when `seconds`).
fn moment(meta: &ReportMeta, seconds: bool) -> String {
    let at = meta.generated_at;
    let time = at.format(if seconds { "%H:%M:%S" } else { "%H:%M" });
    format!("{} {time} UTC", meta.locale.date(at.date_naive()))
}

/// What one page shows.
struct PagePlan {
    rows: Range<usize>,
    totals: bool,
}

fn render(meta: &ReportMeta, lines: &[ReportLine]) -> Vec<u8> {
    let head = heading(meta);
    let first_top = PAGE_H - MARGIN - TITLE_SIZE - META_H * head.len() as f32 - 10.0;
    let other_top = PAGE_H - MARGIN - META_SIZE - 10.0;
    let taxed = lines.iter().any(|l| l.tax_cents != 0);
    let plan = paginate(
        lines.len(),
        capacity(first_top),
        capacity(other_top),
        meta,
        taxed,
    );
    let w = words(meta.locale);
    let title = [
        w.title,
        w.from,
        &meta.locale.date(meta.from),
        w.to,
        &meta.locale.date(meta.to),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    let footer_left = win_ansi(&format!(
        "{title}, {} {}",
        w.generated_lower,
        moment(meta, false)
    ));

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let info = Ref::new(4);
    let page_ref = |i: usize| object_ref(5 + 2 * i);
    let content_ref = |i: usize| object_ref(6 + 2 * i);

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..plan.len()).map(page_ref))
        .count(i32::try_from(plan.len()).unwrap_or(i32::MAX));
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let at = meta.generated_at;
    let year = u16::try_from(at.year().clamp(0, 9999)).unwrap_or(0);
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("KCL"))
        .creation_date(
            Date::new(year)
                .month(at.month() as u8)
                .day(at.day() as u8)
                .hour(at.hour() as u8)
                .minute(at.minute() as u8)
                .second(at.second() as u8)
                .utc_offset_hour(0),
        );

    for (i, page) in plan.iter().enumerate() {
        let mut c = Content::new();
        let top = if i == 0 {
            text(
                &mut c,
                MARGIN,
                PAGE_H - MARGIN - TITLE_SIZE,
                TITLE_SIZE,
                &win_ansi(w.title),
            );
            let mut y = PAGE_H - MARGIN - TITLE_SIZE;
            for line in &head {
                y -= META_H;
                let mut bytes = win_ansi(line);
                truncate(&mut bytes, RIGHT - MARGIN, META_SIZE);
                text(&mut c, MARGIN, y, META_SIZE, &bytes);
            }
            first_top
        } else {
            let mut bytes = win_ansi(&format!("{title} {}", w.continued));
            truncate(&mut bytes, RIGHT - MARGIN, META_SIZE);
            text(
                &mut c,
                MARGIN,
                PAGE_H - MARGIN - META_SIZE,
                META_SIZE,
                &bytes,
            );
            other_top
        };
        table_header(&mut c, top, w);
        let mut row = 0;
        for line in lines.get(page.rows.clone()).unwrap_or(&[]) {
            let y = row_baseline(top, row);
            if row % 2 == 1 {
                band(&mut c, y - 3.0, ROW_H, 0.95);
            }
            let cells = [
                meta.locale.date(line.date),
                line.store_id.clone(),
                line.sku.clone(),
                line.product_name.clone().unwrap_or_default(),
                meta.locale
                    .integer(i64::try_from(line.lines).unwrap_or(i64::MAX)),
                meta.locale.quantity(line.quantity.thousandths()),
                meta.locale.amount(line.revenue_cents),
            ];
            for (column, value) in COLUMNS.iter().zip(&cells) {
                cell(&mut c, column, y, value);
            }
            row += 1;
        }
        if i == 0 && lines.is_empty() {
            let y = row_baseline(top, 0);
            text(&mut c, MARGIN, y, TEXT_SIZE, &win_ansi(w.no_sales));
            row += 1;
        }
        if page.totals {
            totals(&mut c, meta, lines, row_baseline(top, row + 1));
        }
        let y = MARGIN;
        let mut left = footer_left.clone();
        truncate(&mut left, RIGHT - MARGIN - 80.0, FOOTER_SIZE);
        text(&mut c, MARGIN, y, FOOTER_SIZE, &left);
        let right = win_ansi(&format!("{} {} {} {}", w.page, i + 1, w.of, plan.len()));
        let x = RIGHT - width(&right, FOOTER_SIZE);
        text(&mut c, x, y, FOOTER_SIZE, &right);

        let data = c.finish();
        let mut p = pdf.page(page_ref(i));
        p.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_ref(i));
        p.resources().fonts().pair(FONT, font);
        p.finish();
        pdf.stream(content_ref(i), data.as_slice());
    }
    pdf.finish()
}

/// The lines under the title.
fn heading(meta: &ReportMeta) -> Vec<String> {
    let w = words(meta.locale);
    let mut head = vec![
        format!(
            "{}: {} {} {}",
            w.period,
            meta.locale.date(meta.from),
            w.to,
            meta.locale.date(meta.to)
        ),
        format!(
            "{}: {}",
            w.store,
            meta.store.as_deref().unwrap_or(w.all_stores)
        ),
        format!("{}: {}", w.generated, moment(meta, true)),
    ];
    if meta.truncated {
        head.push(w.truncated.to_owned());
    }
    head
}

/// Table rows that fit below a table starting at `top`.
fn capacity(top: f32) -> usize {
    let rows = ((top - HEADER_H - BOTTOM) / ROW_H).floor();
    if rows.is_finite() && rows >= 1.0 {
        rows as usize
    } else {
        1
    }
}

/// Splits `n` lines over pages, the totals after the last line (on a page of
/// their own when the last one is full).
fn paginate(n: usize, first: usize, other: usize, meta: &ReportMeta, taxed: bool) -> Vec<PagePlan> {
    let total_rows = TOTAL_ROWS + usize::from(meta.truncated) + usize::from(taxed);
    let mut pages = Vec::new();
    let mut next = 0;
    loop {
        let cap = if pages.is_empty() { first } else { other };
        let take = (n - next).min(cap);
        let used = take + usize::from(n == 0 && pages.is_empty());
        let rows = next..next + take;
        next += take;
        let totals = next == n && (cap.saturating_sub(used) >= total_rows || used == 0);
        pages.push(PagePlan { rows, totals });
        if totals {
            return pages;
        }
    }
}

fn row_baseline(top: f32, row: usize) -> f32 {
    top - HEADER_H - (row as f32 + 1.0) * ROW_H + 3.0
}

fn table_header(c: &mut Content, top: f32, w: &Words) {
    band(c, top - HEADER_H, HEADER_H, 0.85);
    for column in &COLUMNS {
        cell(c, column, top - HEADER_H + 5.0, w.columns[column.title]);
    }
}

fn totals(c: &mut Content, meta: &ReportMeta, lines: &[ReportLine], y: f32) {
    let (mut n, mut q, mut r, mut t) = (0u128, 0i128, 0i128, 0i128);
    for l in lines {
        n += u128::from(l.lines);
        q += i128::from(l.quantity.thousandths());
        r += i128::from(l.revenue_cents);
        t += i128::from(l.tax_cents);
    }
    let rule = y + ROW_H - 2.0;
    c.set_line_width(0.75);
    c.move_to(MARGIN, rule);
    c.line_to(RIGHT, rule);
    c.stroke();
    let w = words(meta.locale);
    cell(c, &COLUMNS[DATE], y, w.total);
    cell(
        c,
        &COLUMNS[LINES],
        y,
        &meta
            .locale
            .decimal(n.min(i128::MAX as u128) as i128, 0, true),
    );
    cell(c, &COLUMNS[LINES + 1], y, &meta.locale.decimal(q, 3, false));
    cell(c, &COLUMNS[LINES + 2], y, &meta.locale.decimal(r, 2, true));
    let mut below = y - ROW_H;
    if t != 0 {
        let note = format!(
            "{} {}; {}: {}.",
            w.tax,
            meta.locale.decimal(t, 2, true),
            w.before_tax,
            meta.locale.decimal(r - t, 2, true)
        );
        let mut bytes = win_ansi(&note);
        truncate(&mut bytes, RIGHT - MARGIN, TEXT_SIZE);
        text(c, MARGIN, below, TEXT_SIZE, &bytes);
        below -= ROW_H;
    }
    if meta.truncated {
        let mut bytes = win_ansi(w.truncated);
        truncate(&mut bytes, RIGHT - MARGIN, TEXT_SIZE);
        text(c, MARGIN, below, TEXT_SIZE, &bytes);
    }
}

fn band(c: &mut Content, y: f32, height: f32, gray: f32) {
    c.set_fill_gray(gray);
    c.rect(MARGIN, y, RIGHT - MARGIN, height);
    c.fill_nonzero();
    c.set_fill_gray(0.0);
}

fn cell(c: &mut Content, column: &Column, y: f32, value: &str) {
    let mut bytes = win_ansi(value);
    match column.align {
        Align::Left => {
            truncate(&mut bytes, column.width, TEXT_SIZE);
            text(c, column.x, y, TEXT_SIZE, &bytes);
        }
        Align::Right => {
            let full = width(&bytes, TEXT_SIZE);
            let size = if full > column.width {
                (TEXT_SIZE * column.width / full).max(MIN_TEXT_SIZE)
            } else {
                TEXT_SIZE
            };
            let x = column.x + column.width - width(&bytes, size);
            text(c, x, y, size, &bytes);
        }
    }
}

fn text(c: &mut Content, x: f32, y: f32, size: f32, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    c.begin_text();
    c.set_font(FONT, size);
    c.next_line(x, y);
    c.show(Str(bytes));
    c.end_text();
}

fn object_ref(n: usize) -> Ref {
    // Two objects a page: the count of pages would need billions of lines
    // (terabytes of memory) to get near i32::MAX.
    Ref::new(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Cuts `bytes` (WinAnsi) to fit `max` points at `size`, ending with `…`.
fn truncate(bytes: &mut Vec<u8>, max: f32, size: f32) {
    if width(bytes, size) <= max {
        return;
    }
    let room = max - glyph_width(ELLIPSIS) * size / 1000.0;
    let mut used = 0.0;
    let mut keep = 0;
    for &b in bytes.iter() {
        let w = glyph_width(b) * size / 1000.0;
        if used + w > room {
            break;
        }
        used += w;
        keep += 1;
    }
    bytes.truncate(keep);
    while bytes.last() == Some(&b' ') {
        bytes.pop();
    }
    bytes.push(ELLIPSIS);
}

/// UTF-8 (composed first, so that `e` + U+0301 prints as `é`) to WinAnsi bytes;
/// other characters become `?`, control characters a space.
fn win_ansi(s: &str) -> Vec<u8> {
    s.nfc()
        .map(|ch| match ch {
            ' '..='~' | '\u{A0}'..='\u{FF}' => ch as u8,
            c if c.is_control() => b' ',
            c => WIN_ANSI_HIGH
                .iter()
                .position(|&h| h == c)
                .map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

/// The characters of WinAnsi bytes 0x80 to 0x9F (`\0` where none).
const WIN_ANSI_HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0', '‘',
    '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

/// The width of WinAnsi bytes in Helvetica at `size` points.
fn width(bytes: &[u8], size: f32) -> f32 {
    bytes.iter().map(|&b| glyph_width(b)).sum::<f32>() * size / 1000.0
}

/// Helvetica's advance width of a WinAnsi byte, in thousandths of the size
/// (the Adobe font metrics).
fn glyph_width(b: u8) -> f32 {
    let w: u16 = match b {
        0x20..=0x7E => ASCII_WIDTHS[usize::from(b - 0x20)],
        0xA0..=0xFF => LATIN1_WIDTHS[usize::from(b - 0xA0)],
        0x80..=0x9F => HIGH_WIDTHS[usize::from(b - 0x80)],
        _ => 556,
    };
    f32::from(w)
}

const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // sp-/
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0-?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @-O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P-_
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `-o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p-~
];

const HIGH_WIDTHS: [u16; 32] = [
    556, 556, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 556, 611, 556, //
    556, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 556, 500, 667, //
];

const LATIN1_WIDTHS: [u16; 96] = [
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // A0
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // B0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // C0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // D0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // E0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // F0
];

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use kcl_core::domain::Quantity;

    fn meta(truncated: bool) -> ReportMeta {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        ReportMeta {
            from: day,
            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            store: None,
            generated_at: Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap(),
            truncated,
            locale: kcl_core::domain::Locale::En,
        }
    }

    fn line(i: u32, name: Option<&str>) -> ReportLine {
        ReportLine {
            date: NaiveDate::from_ymd_opt(2026, 11, 1 + i % 30).unwrap(),
            store_id: format!("S{}", i % 3),
            sku: format!("SKU-{i}"),
            product_name: name.map(str::to_owned),
            lines: u64::from(i) + 1,
            quantity: Quantity::from_thousandths(1_500),
            revenue_cents: 1_234,
            tax_cents: 0,
        }
    }

    fn pages(pdf: &[u8]) -> usize {
        let text = String::from_utf8_lossy(pdf);
        text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
    }

    fn well_formed(pdf: &[u8]) {
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
        // Every object's offset in the cross-reference table is right.
        let text = String::from_utf8_lossy(pdf);
        let xref = text.rfind("\nxref\n").expect("xref") + 1;
        let entries: Vec<&str> = text[xref..]
            .lines()
            .skip(2)
            .take_while(|l| l.len() == 18)
            .collect();
        for (n, entry) in entries.iter().enumerate().skip(1) {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{n} 0 obj").as_bytes()),
                "object {n}"
            );
        }
    }

    #[test]
    fn one_page_report() {
        let lines: Vec<_> = (0..3).map(|i| line(i, Some("Café 500 g"))).collect();
        let pdf = write_pdf_report(&meta(false), &lines);
        well_formed(&pdf);
        assert_eq!(pages(&pdf), 1);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/BaseFont /Helvetica"));
        assert!(text.contains("/Encoding /WinAnsiEncoding"));
        assert!(!text.contains("/FontFile"));
        assert!(text.contains("(SKU-2)"));
        // "Café 500 g" in WinAnsi, as a hex string.
        assert!(text.contains("<436166E9203530302067>"), "{text}");
        assert!(text.contains("(Total)"));
        assert!(text.contains("(6)")); // 1 + 2 + 3 lines
        assert!(text.contains("(4.500)"));
        assert!(text.contains("(37.02)"));
        assert!(text.contains("(Page 1 of 1)"));
        assert!(!text.contains("Note: "));
    }

    /// `s` in WinAnsi as the hex string the PDF holds it in.
    fn hex(s: &str) -> String {
        let bytes: String = win_ansi(s).iter().map(|b| format!("{b:02X}")).collect();
        format!("<{bytes}>")
    }

    #[test]
    fn a_pt_br_report_has_portuguese_titles_and_brazilian_dates() {
        let mut m = meta(true);
        m.locale = Locale::PtBr;
        let mut lines: Vec<_> = (0..3).map(|i| line(i, None)).collect();
        lines[0].tax_cents = 100;
        let pdf = write_pdf_report(&m, &lines);
        well_formed(&pdf);
        let text = String::from_utf8_lossy(&pdf);
        for words in [
            "(Data)",
            "(Loja)",
            "(Produto)",
            "(Linhas)",
            "(Quantidade)",
            "(Receita)",
            "(Total)",
        ] {
            assert!(text.contains(words), "{words}");
        }
        assert!(text.contains(&hex("Relatório de vendas")), "{text}");
        assert!(text.contains(&hex("Página 1 de 1")), "{text}");
        assert!(
            text.contains(&hex("Período: 01/11/2026 a 30/11/2026")),
            "{text}"
        );
        assert!(text.contains("(Loja: todas as lojas)"), "{text}");
        assert!(
            text.contains("(4,500)") && text.contains("(37,02)"),
            "{text}"
        );
        assert!(
            text.contains("(A receita inclui impostos de 1,00; sem impostos: 36,02.)"),
            "{text}"
        );
        let note = hex("Observação: o período tem mais linhas");
        assert!(text.contains(note.trim_end_matches('>')), "{text}");
        assert!(
            !text.contains("Sales report") && !text.contains("(Page "),
            "{text}"
        );
    }

    #[test]
    fn many_lines_take_several_pages_with_the_header_repeated() {
        let lines: Vec<_> = (0..200).map(|i| line(i, Some("Arroz"))).collect();
        let pdf = write_pdf_report(&meta(true), &lines);
        well_formed(&pdf);
        let n = pages(&pdf);
        assert!(n > 1, "{n} pages");
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("(Revenue)").count(), n);
        assert!(text.contains(&format!("(Page {n} of {n})")));
        assert!(text.contains("(SKU-0)") && text.contains("(SKU-199)"));
        assert_eq!(text.matches("(Total)").count(), 1);
        // The note at the top and with the totals.
        assert_eq!(text.matches("(Note: the period").count(), 2);
    }

    #[test]
    fn totals_move_to_a_new_page_when_the_last_is_full() {
        let m = meta(false);
        let head = heading(&m);
        let first = capacity(PAGE_H - MARGIN - TITLE_SIZE - META_H * head.len() as f32 - 10.0);
        let plan = paginate(first, first, 70, &m, false);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].rows, 0..first);
        assert!(!plan[0].totals);
        assert_eq!(plan[1].rows, first..first);
        assert!(plan[1].totals);
        let lines: Vec<_> = (0..first as u32).map(|i| line(i, None)).collect();
        let pdf = write_pdf_report(&m, &lines);
        well_formed(&pdf);
        assert_eq!(pages(&pdf), 2);
    }

    #[test]
    fn hostile_text_does_not_break_the_output() {
        let names = [
            "Tom (the) \\ (unbalanced ( \\) end",
            ") starts with a paren",
            "=cmd|' /C calc'!A0",
            "emoji 🍕 and 日本語 and \u{0}\u{7}\r\n",
            "Cafe\u{301} composed",
            "",
            &"very long name ".repeat(40),
        ];
        let mut lines: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| line(i as u32, Some(n)))
            .collect();
        lines.push(ReportLine {
            store_id: "(".repeat(50),
            sku: "\\".repeat(50),
            lines: u64::MAX,
            quantity: Quantity::from_thousandths(i64::MIN),
            revenue_cents: i64::MAX,
            tax_cents: 0,
            ..line(9, None)
        });
        lines.push(ReportLine {
            lines: u64::MAX,
            quantity: Quantity::from_thousandths(i64::MIN),
            revenue_cents: i64::MAX,
            tax_cents: 0,
            ..line(10, None)
        });
        let mut m = meta(true);
        m.store = Some("Loja (centro) \\ São Paulo".into());
        let pdf = write_pdf_report(&m, &lines);
        well_formed(&pdf);
        assert_eq!(pages(&pdf), 1);
        let text = String::from_utf8_lossy(&pdf);
        // Parentheses and backslashes are escaped in string literals.
        assert!(text.contains("\\\\"));
        assert!(text.contains("\\)"));
        assert!(!text.contains("\u{0}"));
        // Totals wider than i64 are printed exactly.
        assert!(text.contains("(36,893,488,147,419,103,258)"), "lines total");
        assert!(
            text.contains("(184,467,440,737,095,602.52)"),
            "revenue total"
        );
    }

    #[test]
    fn empty_report_has_one_page() {
        let pdf = write_pdf_report(&meta(false), &[]);
        well_formed(&pdf);
        assert_eq!(pages(&pdf), 1);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(No sales in this period.)"));
        assert!(text.contains("(0.000)") && text.contains("(0.00)"));
    }

    #[test]
    fn win_ansi_and_truncation() {
        assert_eq!(win_ansi("Café"), b"Caf\xE9");
        assert_eq!(win_ansi("Cafe\u{301}"), b"Caf\xE9");
        assert_eq!(win_ansi("€ – ’"), b"\x80 \x96 \x92");
        assert_eq!(win_ansi("日本\t"), b"?? ");
        let mut long = win_ansi(&"x".repeat(500));
        truncate(&mut long, COLUMNS[3].width, TEXT_SIZE);
        assert_eq!(long.last(), Some(&ELLIPSIS));
        assert!(width(&long, TEXT_SIZE) <= COLUMNS[3].width);
        let mut short = b"Arroz".to_vec();
        truncate(&mut short, COLUMNS[3].width, TEXT_SIZE);
        assert_eq!(short, b"Arroz");
    }
}
