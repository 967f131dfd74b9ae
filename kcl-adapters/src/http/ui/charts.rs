//! Charts as server-rendered SVG: no script, no inline style (the pages' Content
//! Security Policy forbids both: shapes carry presentation attributes and classes of
//! the style sheet), readable by screen readers (`role="img"`, a title and a
//! description that states the figures, a `<title>` per point or bar), and always
//! beside a table of the same figures.

use chrono::NaiveDate;
use kcl_core::domain::Locale;
use maud::{html, Markup};

use crate::http::i18n::{self, tr};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
/// Room for the value labels (left) and the date labels (bottom).
const LEFT: f64 = 84.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// A rounded top of the value axis at or above `max` (1, 2 or 5 times a power of
/// ten, in cents), so that the grid lines fall on round amounts.
fn nice_top(max: i64) -> i64 {
    if max <= 0 {
        return 100;
    }
    let mut unit: i64 = 1;
    while unit <= max / 10 {
        unit *= 10;
    }
    for step in [1, 2, 5, 10] {
        let top = unit.saturating_mul(step);
        if top >= max {
            return top;
        }
    }
    unit.saturating_mul(10)
}

/// Revenue per day as a line: one point per day of `days` (in order, days without
/// sales at zero), the value axis from zero.
pub(super) fn revenue_by_day(title: &str, days: &[(NaiveDate, i64)]) -> Markup {
    let top = nice_top(days.iter().map(|d| d.1).max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if days.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (days.len() - 1) as f64
        }
    };
    let y = |cents: i64| TOP + plot_h * (1.0 - cents.max(0) as f64 / top as f64);
    let points: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, (_, c))| format!("{:.1},{:.1}", x(i), y(*c)))
        .collect();
    let total: i64 = days.iter().map(|d| d.1).sum();
    let best = days.iter().max_by_key(|d| d.1);
    let desc = match (days.first(), days.last(), best) {
        (Some(first), Some(last), Some(best)) if total > 0 => tr!(
            "chart-day-desc",
            n = days.len(),
            count = i18n::count(days.len() as u64),
            from = i18n::date(first.0),
            to = i18n::date(last.0),
            total = i18n::money(total),
            best = i18n::date(best.0),
            best_amount = i18n::money(best.1),
        ),
        _ => tr!("chart-day-empty"),
    };
    // About six date labels, whatever the number of days.
    let every = days.len().div_ceil(6).max(1);
    // The date labels, short: the month and day in the locale's order.
    let short_day = match i18n::locale() {
        Locale::PtBr => "%d/%m",
        _ => "%m-%d",
    };
    html! {
        svg.chart role="img" aria-labelledby="chart-day-title chart-day-desc"
            viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width="100%" preserveAspectRatio="xMidYMid meet" {
            title id="chart-day-title" { (title) }
            desc id="chart-day-desc" { (desc) }
            @for step in 0..=4i128 {
                @let v = i64::try_from(i128::from(top) * step / 4).unwrap_or(top);
                line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(v))) y2=(format!("{:.1}", y(v))) {}
                text.axis x=(LEFT - 6.0) y=(format!("{:.1}", y(v) + 4.0)) text-anchor="end" { (i18n::amount(v)) }
            }
            @for (i, (day, _)) in days.iter().enumerate() {
                @if i % every == 0 || i + 1 == days.len() {
                    text.axis x=(format!("{:.1}", x(i))) y=(HEIGHT - BOTTOM + 18.0) text-anchor="middle" { (day.format(short_day)) }
                }
            }
            @if days.len() > 1 {
                polyline.line points=(points.join(" ")) fill="none" {}
            }
            @for (i, (day, cents)) in days.iter().enumerate() {
                circle.point cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*cents))) r="3" {
                    title { (i18n::date(*day)) ": " (i18n::money(*cents)) }
                }
            }
        }
    }
}

/// Revenue per store as horizontal bars, largest first (at most `limit` stores: the
/// rest are named in the description).
pub(super) fn revenue_by_store(title: &str, stores: &[(String, i64)], limit: usize) -> Markup {
    let mut sorted: Vec<&(String, i64)> = stores.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let shown = &sorted[..sorted.len().min(limit)];
    let top = nice_top(shown.iter().map(|s| s.1).max().unwrap_or(0));
    let bar_h = 22.0;
    let gap = 8.0;
    let height = TOP + (bar_h + gap) * shown.len().max(1) as f64 + BOTTOM / 2.0;
    let left = 120.0;
    let plot_w = WIDTH - left - 110.0;
    let desc = if shown.is_empty() {
        tr!("chart-store-empty")
    } else {
        let mut d: Vec<String> = shown
            .iter()
            .map(|(s, c)| format!("{s}: {}", i18n::money(*c)))
            .collect();
        if sorted.len() > shown.len() {
            let more = sorted.len() - shown.len();
            d.push(tr!(
                "chart-store-more",
                n = more,
                count = i18n::count(more as u64)
            ));
        }
        d.join("; ") + "."
    };
    html! {
        svg.chart role="img" aria-labelledby="chart-store-title chart-store-desc"
            viewBox=(format!("0 0 {WIDTH} {height:.0}")) width="100%" preserveAspectRatio="xMidYMid meet" {
            title id="chart-store-title" { (title) }
            desc id="chart-store-desc" { (desc) }
            @for (i, (store, cents)) in shown.iter().enumerate() {
                @let y = TOP + (bar_h + gap) * i as f64;
                @let w = plot_w * (*cents).max(0) as f64 / top as f64;
                text.axis x=(left - 8.0) y=(format!("{:.1}", y + bar_h * 0.7)) text-anchor="end" { (store) }
                rect.bar x=(left) y=(format!("{y:.1}")) width=(format!("{:.1}", w.max(1.0))) height=(bar_h) {
                    title { (store) ": " (i18n::money(*cents)) }
                }
                text.value x=(format!("{:.1}", left + w.max(1.0) + 6.0)) y=(format!("{:.1}", y + bar_h * 0.7)) { (i18n::money(*cents)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        for (max, top) in [
            (0, 100),
            (1, 1),
            (99, 100),
            (101, 200),
            (350, 500),
            (16_520, 20_000),
        ] {
            assert_eq!(nice_top(max), top, "{max}");
        }
        assert!(nice_top(i64::MAX) > 0);
    }

    #[test]
    fn a_line_has_a_point_per_day_and_says_its_figures() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let svg =
            revenue_by_day("Revenue", &[(d(1), 1000), (d(2), 0), (d(3), 16_520)]).into_string();
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(
            svg.contains("3 days from 2026-11-01 to 2026-11-03: R$175.20 in all"),
            "{svg}"
        );
        assert!(
            svg.contains("the best day, 2026-11-03, sold R$165.20."),
            "{svg}"
        );
        assert!(svg.contains("2026-11-03: R$165.20"), "{svg}");
        // The axis: amounts without the currency; the days as month-day.
        assert!(
            svg.contains(">200.00</text>") && svg.contains(">11-03</text>"),
            "{svg}"
        );
        assert!(!svg.contains("NaN") && !svg.contains("style="), "{svg}");
        let one = revenue_by_day("Revenue", &[(d(1), 0)]).into_string();
        assert!(one.contains("No revenue in this period."));
        assert!(!one.contains("NaN"), "{one}");
    }

    #[test]
    fn bars_are_largest_first_and_labels_are_escaped() {
        let stores = vec![
            ("loja-02".to_owned(), 3990),
            ("<b>".to_owned(), 12_530),
            ("loja-03".to_owned(), 1),
        ];
        let svg = revenue_by_store("By store", &stores, 2).into_string();
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.find("&lt;b&gt;") < svg.find("loja-02"), "{svg}");
        assert!(!svg.contains("<b>"), "escaped: {svg}");
        assert!(svg.contains("and 1 more store."), "{svg}");
    }
}
