//! The sales page: upload a file and see its report, the summary of a period,
//! a SKU's stock, and reports to download.

use crate::http::access::href;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use kcl_core::domain::{format_cents, GroupBy, SummaryQuery};
use kcl_core::services::{IngestReport, IngestStatus, SaleLine};
use kcl_core::Services;
use maud::{html, Markup};
use serde::Deserialize;

use crate::http::extract::{ApiForm, ApiQuery};
use crate::http::forms::sales::{ingest_received, make_report, receive_file, UploadQuery};
use crate::http::page::{layout, or_page, OrPage};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SalesQuery {
    from: Option<String>,
    to: Option<String>,
    store: Option<String>,
    group_by: Option<String>,
    sku: Option<String>,
}

fn parse_date(v: Option<&str>) -> Option<NaiveDate> {
    v.and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
}

fn forms(from: NaiveDate, to: NaiveDate, q: &SalesQuery) -> Markup {
    let store = q.store.clone().unwrap_or_default();
    let group = q.group_by.clone().unwrap_or_else(|| "day".into());
    html! {
        h2 { "Upload a sales file" }
        form method="post" action=(crate::http::access::form_action("/ui/sales")) enctype="multipart/form-data" {
            fieldset {
                label { "CSV file " input name="file" type="file" required accept=".csv,text/csv"; }
                label { "Policy "
                    select name="policy" {
                        option value="lenient" selected { "lenient: load the valid rows" }
                        option value="strict" { "strict: any bad row refuses the file" }
                    }
                }
            }
            details {
                summary { "Your file's own format (columns, dates, tax)" }
                fieldset {
                    label { "Columns "
                        input name="columns" type="text" maxlength="2000"
                            placeholder="store_id:Branch,sku:Product line,sale_date:Date"
                            aria-describedby="columns-help";
                    }
                    small #columns-help { "Which of your headers holds each column KCL needs: "
                        code { "store_id" } ", " code { "sale_date" } ", " code { "sku" } ", "
                        code { "quantity" } ", " code { "unit_price" } " (and optionally "
                        code { "receipt_id" } ", " code { "product_name" } ", " code { "total" }
                        "). Other columns are ignored." }
                    label { "Date order "
                        select name="date_order" {
                            option value="" selected { "day/month/year (default)" }
                            option value="mdy" { "month/day/year" }
                            option value="ymd" { "year/month/day" }
                        }
                    }
                    label { "Tax included in the total (%) "
                        input name="tax_rate" type="text" inputmode="decimal" maxlength="8" placeholder="5";
                    }
                }
            }
            button type="submit" { "Load" }
        }
        h2 { "Record a sale" }
        form method="post" action=(crate::http::access::form_action("/ui/sales/single")) {
            // A key of its own per page: submitting twice records the sale once.
            input type="hidden" name="key" value=(uuid::Uuid::new_v4());
            fieldset {
                label { "Store " input name="store_id" required maxlength="32"; }
                label { "Day " input name="sale_date" type="date" required value=(to); }
                label { "SKU " input name="sku" required maxlength="32"; }
                label { "Quantity " input name="quantity" required inputmode="decimal" maxlength="16"; }
                label { "Unit price " input name="unit_price" required inputmode="decimal" maxlength="16"; }
            }
            button type="submit" { "Record" }
        }
        h2 { "Summary" }
        form method="get" action=(href("/sales")) {
            fieldset {
                label { "From " input name="from" type="date" value=(from); }
                label { "To " input name="to" type="date" value=(to); }
                label { "Store " input name="store" maxlength="32" value=(store); }
                label { "Group by "
                    select name="group_by" {
                        @for g in ["day", "store", "sku"] {
                            option value=(g) selected[g == group] { (g) }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
        }
    }
}

/// The schedule of sales reports, its next run and its last run's reports.
async fn scheduled(s: &Services) -> Markup {
    let Some(schedule) = s.sales.report_schedule() else {
        return html! {
            p.muted { "None. With " code { "KCL_REPORT_SCHEDULE=daily 06:00" } ", every day at 06:00 the previous day's report of each store that sold is written by itself." }
        };
    };
    let now = s.sales.now();
    let next = schedule.next_run(now).with_timezone(&schedule.tz());
    let last = s.sales.last_scheduled_run().await;
    html! {
        p {
            "Every day at " (schedule.at().format("%H:%M")) " (" (schedule.tz().name()) "), the previous day's report of each store that sold. Next: "
            time datetime=(next.to_rfc3339()) { (next.format("%Y-%m-%d %H:%M")) } "."
        }
        @match last {
            Ok(Some(run)) => {
                p { "Last: the reports of " strong { (run.day) } " (" (run.reports.len()) ")" @if run.reports.is_empty() { ": no store sold that day" } "." }
                @if !run.reports.is_empty() {
                    ul.scheduled { @for key in &run.reports {
                        @let name = key.strip_prefix("reports/").unwrap_or(key);
                        li { a href=(href(&format!("/api/reports/{name}"))) download { (name) } }
                    } }
                }
            }
            Ok(None) => p.muted { "No run yet." },
            Err(e) => div.error { p { (e) } },
        }
    }
}

/// The longest period charted day by day.
const CHART_DAYS: i64 = 366;
/// The most stores in the bar chart.
const CHART_STORES: usize = 20;

/// The period's revenue by day (a line) and by store (bars), from `rows` when the
/// page is grouped that way, else from their own summaries.
async fn charts(
    s: &Services,
    query: &SummaryQuery,
    rows: &[kcl_core::domain::SummaryRow],
) -> Result<Markup, kcl_core::ServiceError> {
    let (Some(from), Some(to)) = (query.from, query.to) else {
        return Ok(html! {});
    };
    let grouped = |g: GroupBy| {
        let mut q = query.clone();
        q.group_by = g;
        q
    };
    let days = (to - from).num_days() + 1;
    let by_day = match query.group_by {
        GroupBy::Day => rows.to_vec(),
        // Not charted: not read.
        _ if days > CHART_DAYS => Vec::new(),
        _ => s.sales.summary(&grouped(GroupBy::Day)).await?,
    };
    let by_store = match query.group_by {
        GroupBy::Store => rows.to_vec(),
        _ => s.sales.summary(&grouped(GroupBy::Store)).await?,
    };
    let line = if (1..=CHART_DAYS).contains(&days) {
        let revenue: std::collections::HashMap<&str, i64> = by_day
            .iter()
            .map(|r| (r.key.as_str(), r.revenue_cents))
            .collect();
        let points: Vec<(NaiveDate, i64)> = from
            .iter_days()
            .take(days as usize)
            .map(|d| (d, revenue.get(d.to_string().as_str()).copied().unwrap_or(0)))
            .collect();
        Some(super::charts::revenue_by_day(
            &format!("Revenue by day, {from} to {to}"),
            &points,
        ))
    } else {
        None
    };
    let stores: Vec<(String, i64)> = by_store
        .into_iter()
        .map(|r| (r.key, r.revenue_cents))
        .collect();
    Ok(html! {
        @if let Some(line) = line {
            figure { (line) figcaption { "Revenue by day (the table below has the figures)." } }
        } @else {
            p.muted { "Choose a period of at most " (CHART_DAYS) " days to chart it day by day." }
        }
        @if stores.len() > 1 {
            figure { (super::charts::revenue_by_store(&format!("Revenue by store, {from} to {to}"), &stores, CHART_STORES)) figcaption { "Revenue by store." } }
        }
    })
}

/// `GET /sales`.
pub(crate) async fn index(
    State(s): State<Services>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<SalesQuery>>,
) -> Response {
    let today = s.sales.now().date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let from = parse_date(q.from.as_deref()).unwrap_or(first);
    let to = parse_date(q.to.as_deref()).unwrap_or(today);
    let group_by = q
        .group_by
        .as_deref()
        .and_then(GroupBy::parse)
        .unwrap_or_default();
    let query = SummaryQuery {
        from: Some(from),
        to: Some(to),
        store: q.store.clone().filter(|s| !s.is_empty()),
        sku: None,
        group_by,
    };
    let rows = or_page!(s.sales.summary(&query).await);
    let charts = or_page!(charts(&s, &query, &rows).await);
    let stock = match q.sku.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(sku) => Some((sku.to_owned(), s.sales.stock(sku).await)),
    };
    let schedule = scheduled(&s).await;
    let (mut lines, mut revenue, mut tax) = (0u64, 0i64, 0i64);
    for r in &rows {
        lines += r.lines;
        revenue += r.revenue_cents;
        tax += r.tax_cents;
    }
    // Before-tax columns only when some revenue includes tax.
    let taxed = rows.iter().any(|r| r.tax_cents != 0);
    let body = html! {
        (forms(from, to, &q))
        (charts)
        table {
            caption { "By " (group_by.as_str()) ", " (from) " to " (to) }
            thead { tr {
                th { "Group" } th.num { "Lines" } th.num { "Quantity" } th.num { "Revenue" }
                @if taxed { th.num { "Tax" } th.num { "Before tax" } }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (r.key) } td.num { (r.lines) } td.num { (r.quantity) } td.num { (format_cents(r.revenue_cents)) }
                        @if taxed { td.num { (format_cents(r.tax_cents)) } td.num { (format_cents(r.revenue_cents - r.tax_cents)) } }
                    }
                }
                @if rows.is_empty() { tr { td colspan="4" class="muted" { "No sales in this period." } } }
            }
            @if !rows.is_empty() {
                tfoot { tr {
                    th { "Total" } th.num { (lines) } th {} th.num { (format_cents(revenue)) }
                    @if taxed { th.num { (format_cents(tax)) } th.num { (format_cents(revenue - tax)) } }
                } }
            }
        }
        h2 { "Report" }
        form method="post" action=(crate::http::access::form_action("/ui/sales/report")) {
            fieldset {
                input type="hidden" name="from" value=(from);
                input type="hidden" name="to" value=(to);
                input type="hidden" name="store" value=(q.store.clone().unwrap_or_default());
                label { "Format "
                    select name="format" { option value="csv" { "CSV" } option value="pdf" { "PDF" } }
                }
                label { "Numbers and dates "
                    select name="locale" {
                        option value="" { "as configured" }
                        option value="en" { "English (1,234.56; 2026-11-23)" }
                        option value="pt-BR" { "Português (1.234,56; 23/11/2026)" }
                    }
                }
                button type="submit" { "Download the report of " (from) " to " (to) }
            }
        }
        h2 { "Scheduled reports" }
        (schedule)
        h2 { "Stock" }
        form method="get" action=(href("/sales")) {
            fieldset {
                label { "SKU " input name="sku" maxlength="32" required value=(q.sku.clone().unwrap_or_default()); }
                button type="submit" { "Look up" }
            }
        }
        @if let Some((sku, level)) = &stock {
            @match level {
                Ok(l) => p { "Stock of " strong { (sku) } ": " strong { (l.quantity) } " (updated " (l.updated_at.format("%Y-%m-%d %H:%M:%S")) " UTC)" },
                Err(e) => div.error { p { (e) } },
            }
        }
    };
    layout("Sales", body).into_response()
}

fn report_page(report: &IngestReport) -> Response {
    let status = match report.status {
        IngestStatus::Loaded => StatusCode::CREATED,
        IngestStatus::Duplicate => StatusCode::OK,
        IngestStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let body = html! {
        @match report.status {
            IngestStatus::Loaded => p { strong { "Loaded." } " " (report.rows_loaded) " of " (report.rows_total) " rows." },
            IngestStatus::Duplicate => p { strong { "Already loaded:" } " the same content was loaded before; nothing changed." },
            IngestStatus::Rejected => div.error role="alert" { p { strong { "Refused: " }
                (report.file_error.as_ref().map_or("the file was rejected", |f| f.message.as_str())) } },
        }
        @if report.replaced.is_some() { p { "This file replaces the earlier version of " code { (report.name) } "." } }
        table {
            tbody {
                tr { th { "File" } td { (report.name) } }
                tr { th { "Rows read" } td { (report.rows_total) } }
                tr { th { "Loaded" } td { (report.rows_loaded) } }
                tr { th { "Rejected" } td { (report.rows_rejected) } }
                tr { th { "SHA-256" } td { code { (report.sha256) } } }
                @if let Some(k) = &report.rejected_key { tr { th { "Rejected rows" } td { code { (k) } } } }
                tr { th { "Parquet copies" } td { (report.curated_keys.len()) } }
                @if let Some(order) = report.date_order { tr { th { "Dates read as" } td { (order) } } }
                @if let Some(p) = &report.profile { tr { th { "Format profile" } td { (p) } } }
                @if !report.ignored_columns.is_empty() {
                    tr { th { "Columns ignored" } td { (report.ignored_columns.join(", ")) } }
                }
            }
        }
        @if !report.errors.is_empty() {
            h2 { "Rejected rows" }
            table {
                thead { tr { th { "Line" } th { "Column" } th { "Problem" } } }
                tbody {
                    @for e in &report.errors {
                        tr { td { (e.line) } td { (e.column.unwrap_or("")) } td { (e.message) " " span.muted { "(" (e.code) ")" } } }
                    }
                }
            }
            @if report.rows_rejected > report.errors.len() as u64 {
                p.muted { "… and " (report.rows_rejected - report.errors.len() as u64) " more." }
            }
        }
        @for w in &report.warnings { div.error { p { (w) } } }
        p { a href=(href("/sales")) { "← Sales" } }
    };
    (status, layout("Sales file", body)).into_response()
}

/// `POST /ui/sales` (the upload form).
pub(crate) async fn upload(State(s): State<Services>, req: Request) -> Response {
    let file = or_page!(receive_file(&s, UploadQuery::default(), req).await);
    report_page(&or_page!(ingest_received(&s, file).await))
}

/// The "Record a sale" form.
#[derive(Debug, Deserialize)]
pub(crate) struct SaleForm {
    key: String,
    store_id: String,
    sale_date: String,
    sku: String,
    quantity: String,
    unit_price: String,
}

/// `POST /ui/sales/single`: records one sale (once per form: its key) and shows
/// its report.
pub(crate) async fn record_sale(
    State(s): State<Services>,
    OrPage(ApiForm(f)): OrPage<ApiForm<SaleForm>>,
) -> Response {
    let line = SaleLine::new(
        &f.store_id,
        &f.sale_date,
        &f.sku,
        &f.quantity,
        &f.unit_price,
    );
    report_page(&or_page!(s.sales.record_sales(&f.key, &[line]).await))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReportForm {
    from: String,
    to: String,
    #[serde(default)]
    store: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    locale: String,
}

/// `POST /ui/sales/report`: writes the report and sends the browser to it.
pub(crate) async fn report(
    State(s): State<Services>,
    OrPage(ApiForm(f)): OrPage<ApiForm<ReportForm>>,
) -> Response {
    let written = or_page!(
        make_report(
            &s,
            &f.from,
            &f.to,
            Some(&f.store),
            Some(&f.format),
            Some(&f.locale)
        )
        .await
    );
    match written.url.as_deref() {
        Some(url) => Redirect::to(url).into_response(),
        None => Redirect::to(&href("/sales")).into_response(),
    }
}
