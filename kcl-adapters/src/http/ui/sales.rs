//! The sales page: upload a file and see its report, the summary of a period,
//! a SKU's stock, and reports to download.

use crate::http::access::href;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use kcl_core::domain::{DateOrder, GroupBy, SummaryQuery};
use kcl_core::services::{IngestReport, IngestStatus, SaleLine};
use kcl_core::Services;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

use crate::http::extract::{ApiForm, ApiQuery};
use crate::http::forms::sales::{ingest_received, make_report, receive_file_keeping, UploadQuery};
use crate::http::i18n::{self, tr};
use crate::http::page::{layout, or_page, refused, with_elements, OrPage, SLOT};
use crate::http::problem::Problem;

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

/// A summary row's key as shown: a day in the page's language, else as it is.
fn group_key(g: GroupBy, key: &str) -> Markup {
    match (g, NaiveDate::parse_from_str(key, "%Y-%m-%d")) {
        (GroupBy::Day, Ok(day)) => html! { time datetime=(key) { (i18n::date(day)) } },
        _ => html! { (key) },
    }
}

/// How a summary is grouped, in words (`day`, `store`, `SKU`).
fn group_name(g: GroupBy) -> String {
    match g {
        GroupBy::Day => tr!("sales-group-day"),
        GroupBy::Store => tr!("sales-group-store"),
        GroupBy::Sku => tr!("sales-group-sku"),
    }
}

/// The order of a date's parts, in words (`month/day/year`).
fn date_order_name(order: DateOrder) -> String {
    match order {
        DateOrder::Dmy => tr!("sales-date-order-dmy"),
        DateOrder::Mdy => tr!("sales-date-order-mdy"),
        DateOrder::Ymd => tr!("sales-date-order-ymd"),
    }
}

/// The text fields of a sales upload as sent: shown again when it is refused.
pub(crate) use crate::http::forms::sales::UploadFields;

/// The upload form, with `typed` as the user sent it (the file itself cannot be
/// given back: browsers never let a page choose one).
fn upload_form(typed: &UploadFields) -> Markup {
    let strict = typed.policy.as_deref() == Some("strict");
    let columns = typed.columns.clone().unwrap_or_default();
    let order = typed
        .date_order
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let tax_rate = typed.tax_rate.clone().unwrap_or_default();
    // The file's own format, opened when any of it was filled in.
    let custom = !columns.trim().is_empty() || !order.is_empty() || !tax_rate.trim().is_empty();
    html! {
        form method="post" action=(crate::http::access::form_action("/ui/sales")) enctype="multipart/form-data" {
            fieldset {
                label { (tr!("sales-upload-file")) " " input name="file" type="file" required accept=".csv,text/csv"; }
                label { (tr!("sales-upload-policy")) " "
                    select name="policy" {
                        option value="lenient" selected[!strict] { (tr!("sales-policy-lenient")) }
                        option value="strict" selected[strict] { (tr!("sales-policy-strict")) }
                    }
                }
            }
            details open[custom] {
                summary { (tr!("sales-format-summary")) }
                fieldset {
                    label { (tr!("sales-format-columns")) " "
                        input name="columns" type="text" maxlength="2000" value=(columns)
                            placeholder=(tr!("sales-format-columns-placeholder"))
                            aria-describedby="columns-help";
                    }
                    small #columns-help {
                        (with_elements(
                            &tr!("sales-format-columns-help", required = SLOT, optional = SLOT),
                            &[
                                html! {
                                    code { "store_id" } ", " code { "sale_date" } ", " code { "sku" } ", "
                                    code { "quantity" } ", " code { "unit_price" }
                                },
                                html! { code { "receipt_id" } ", " code { "product_name" } ", " code { "total" } },
                            ],
                        ))
                    }
                    label { (tr!("sales-format-date-order")) " "
                        select name="date_order" {
                            option value="" selected[order.is_empty()] { (tr!("sales-date-order-default")) }
                            @for (v, o) in [("dmy", DateOrder::Dmy), ("mdy", DateOrder::Mdy), ("ymd", DateOrder::Ymd)] {
                                // Day-first is the default: offered by name only when chosen.
                                @if v != "dmy" || order == v {
                                    option value=(v) selected[order == v] { (date_order_name(o)) }
                                }
                            }
                        }
                    }
                    label { (tr!("sales-format-tax-rate")) " "
                        input name="tax_rate" type="text" inputmode="decimal" maxlength="8" placeholder="5" value=(tax_rate);
                    }
                }
            }
            button type="submit" { (tr!("sales-upload-submit")) }
        }
    }
}

/// The single-sale form with `f` as typed; each field of `errors` is marked invalid
/// and explained under it.
fn sale_form(f: &SaleForm, errors: &[kcl_core::domain::FieldError]) -> Markup {
    // A batch's errors name `sales[0].column`; this form's fields are the columns.
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field || e.field.ends_with(&format!("].{field}")))
            .map(i18n::field_message)
    };
    let invalid = |field: &str| error(field).map(|_| "true");
    let described = |field: &str| error(field).map(|_| format!("sale-{field}-error"));
    let message = |field: &str| {
        html! { @if let Some(m) = error(field) { small.field-error id=(format!("sale-{field}-error")) { (m) } } }
    };
    html! {
        form method="post" action=(crate::http::access::form_action("/ui/sales/single")) {
            // A key of its own per page: submitting twice records the sale once.
            input type="hidden" name="key" value=(f.key);
            fieldset {
                label { (tr!("sales-field-store")) " " input name="store_id" required maxlength="32" value=(f.store_id) aria-invalid=[invalid("store_id")] aria-describedby=[described("store_id")]; (message("store_id")) }
                label { (tr!("sales-field-day")) " " input name="sale_date" type="date" required value=(f.sale_date) aria-invalid=[invalid("sale_date")] aria-describedby=[described("sale_date")]; (message("sale_date")) }
                label { (tr!("sales-field-sku")) " " input name="sku" required maxlength="32" value=(f.sku) aria-invalid=[invalid("sku")] aria-describedby=[described("sku")]; (message("sku")) }
                label { (tr!("sales-field-quantity")) " " input name="quantity" required inputmode="decimal" maxlength="16" value=(f.quantity) aria-invalid=[invalid("quantity")] aria-describedby=[described("quantity")]; (message("quantity")) }
                label { (tr!("sales-field-unit-price")) " " input name="unit_price" required inputmode="decimal" maxlength="16" value=(f.unit_price) aria-invalid=[invalid("unit_price")] aria-describedby=[described("unit_price")]; (message("unit_price")) }
            }
            button type="submit" { (tr!("sales-record-submit")) }
        }
    }
}

fn forms(from: NaiveDate, to: NaiveDate, q: &SalesQuery) -> Markup {
    let store = q.store.clone().unwrap_or_default();
    let group = q.group_by.clone().unwrap_or_else(|| "day".into());
    html! {
        h2 { (tr!("sales-upload-heading")) }
        (upload_form(&UploadFields::default()))
        h2 { (tr!("sales-record-heading")) }
        (sale_form(&SaleForm::on(to), &[]))
        h2 { (tr!("sales-summary-heading")) }
        form method="get" action=(href("/sales")) {
            fieldset {
                label { (tr!("sales-summary-from")) " " input name="from" type="date" value=(from); }
                label { (tr!("sales-summary-to")) " " input name="to" type="date" value=(to); }
                label { (tr!("sales-field-store")) " " input name="store" maxlength="32" value=(store); }
                label { (tr!("sales-summary-group-by")) " "
                    select name="group_by" {
                        @for g in [GroupBy::Day, GroupBy::Store, GroupBy::Sku] {
                            option value=(g.as_str()) selected[g.as_str() == group] { (group_name(g)) }
                        }
                    }
                }
                button type="submit" { (tr!("sales-summary-submit")) }
            }
        }
    }
}

/// The schedule of sales reports, its next run and its last run's reports.
async fn scheduled(s: &Services) -> Markup {
    let Some(schedule) = s.sales.report_schedule() else {
        return html! {
            p.muted {
                (with_elements(
                    &tr!("sales-schedule-none", setting = SLOT),
                    &[html! { code { "KCL_REPORT_SCHEDULE=daily 06:00" } }],
                ))
            }
        };
    };
    let now = s.sales.now();
    let next = schedule.next_run(now).with_timezone(&schedule.tz());
    let last = s.sales.last_scheduled_run().await;
    // The next run in the schedule's time zone, the day as the locale writes it.
    let next_text = format!("{} {}", i18n::date(next.date_naive()), next.format("%H:%M"));
    html! {
        p {
            (tr!(
                "sales-schedule-every-day",
                time = schedule.at().format("%H:%M").to_string(),
                tz = schedule.tz().name(),
            ))
            " "
            (with_elements(
                &tr!("sales-schedule-next", next = SLOT),
                &[html! { time datetime=(next.to_rfc3339()) { (next_text) } }],
            ))
        }
        @match last {
            Ok(Some(run)) => {
                p {
                    @let count = i18n::count(run.reports.len() as u64);
                    @let day = html! { strong { (i18n::date(run.day)) } };
                    @if run.reports.is_empty() {
                        (with_elements(&tr!("sales-schedule-last-none", day = SLOT, count = count.as_str()), &[day]))
                    } @else {
                        (with_elements(&tr!("sales-schedule-last", day = SLOT, count = count.as_str()), &[day]))
                    }
                }
                @if !run.reports.is_empty() {
                    ul.scheduled { @for key in &run.reports {
                        @let name = key.strip_prefix("reports/").unwrap_or(key);
                        li { a href=(href(&format!("/api/reports/{name}"))) download { (name) } }
                    } }
                }
            }
            Ok(None) => p.muted { (tr!("sales-schedule-no-run")) },
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
            &tr!(
                "sales-chart-by-day-title",
                from = i18n::date(from),
                to = i18n::date(to)
            ),
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
            figure { (line) figcaption { (tr!("sales-chart-by-day-caption")) } }
        } @else {
            p.muted {
                (tr!(
                    "sales-chart-too-long",
                    n = CHART_DAYS,
                    count = i18n::number(CHART_DAYS)
                ))
            }
        }
        @if stores.len() > 1 {
            @let title = tr!(
                "sales-chart-by-store-title",
                from = i18n::date(from),
                to = i18n::date(to)
            );
            figure {
                (super::charts::revenue_by_store(&title, &stores, CHART_STORES))
                figcaption { (tr!("sales-chart-by-store-caption")) }
            }
        }
    })
}

/// `GET /sales`.
pub(crate) async fn index(
    State(s): State<Arc<Services>>,
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
            caption {
                (tr!(
                    "sales-summary-caption",
                    group = group_name(group_by),
                    from = i18n::date(from),
                    to = i18n::date(to)
                ))
            }
            thead { tr {
                th { (tr!("sales-col-group")) } th.num { (tr!("sales-col-lines")) } th.num { (tr!("sales-col-quantity")) } th.num { (tr!("sales-col-revenue")) }
                @if taxed { th.num { (tr!("sales-col-tax")) } th.num { (tr!("sales-col-before-tax")) } }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (group_key(group_by, &r.key)) } td.num { (i18n::count(r.lines)) } td.num { (i18n::quantity(r.quantity.thousandths())) } td.num { (i18n::money(r.revenue_cents)) }
                        @if taxed { td.num { (i18n::money(r.tax_cents)) } td.num { (i18n::money(r.revenue_cents - r.tax_cents)) } }
                    }
                }
                @if rows.is_empty() { tr { td colspan="4" class="muted" { (tr!("sales-summary-empty")) } } }
            }
            @if !rows.is_empty() {
                tfoot { tr {
                    th { (tr!("sales-summary-total")) } th.num { (i18n::count(lines)) } th {} th.num { (i18n::money(revenue)) }
                    @if taxed { th.num { (i18n::money(tax)) } th.num { (i18n::money(revenue - tax)) } }
                } }
            }
        }
        h2 { (tr!("sales-report-heading")) }
        form method="post" action=(crate::http::access::form_action("/ui/sales/report")) {
            fieldset {
                input type="hidden" name="from" value=(from);
                input type="hidden" name="to" value=(to);
                input type="hidden" name="store" value=(q.store.clone().unwrap_or_default());
                label { (tr!("sales-report-format")) " "
                    select name="format" { option value="csv" { "CSV" } option value="pdf" { "PDF" } }
                }
                label { (tr!("sales-report-locale")) " "
                    select name="locale" {
                        option value="" { (tr!("sales-report-locale-default")) }
                        // Each language named in itself, with how it writes numbers and dates.
                        // The page's own language first.
                        option value="en" selected[i18n::locale() == kcl_core::domain::Locale::En] { (tr!("lang-switch-en")) " (1,234.56; 2026-11-23)" }
                        option value="pt-BR" selected[i18n::locale() == kcl_core::domain::Locale::PtBr] { (tr!("lang-switch-pt-BR")) " (1.234,56; 23/11/2026)" }
                    }
                }
                button type="submit" {
                    (tr!(
                        "sales-report-submit",
                        from = i18n::date(from),
                        to = i18n::date(to)
                    ))
                }
            }
        }
        h2 { (tr!("sales-schedule-heading")) }
        (schedule)
        h2 { (tr!("sales-stock-heading")) }
        form method="get" action=(href("/sales")) {
            fieldset {
                label { (tr!("sales-field-sku")) " " input name="sku" maxlength="32" required value=(q.sku.clone().unwrap_or_default()); }
                button type="submit" { (tr!("sales-stock-submit")) }
            }
        }
        @if let Some((sku, level)) = &stock {
            @match level {
                Ok(l) => p {
                    (with_elements(
                        &tr!(
                            "sales-stock-level",
                            sku = SLOT,
                            quantity = SLOT,
                            updated = i18n::date_time(l.updated_at)
                        ),
                        &[
                            html! { strong { (sku) } },
                            html! { strong { (i18n::quantity(l.quantity.thousandths())) } },
                        ],
                    ))
                },
                Err(e) => div.error { p { (e) } },
            }
        }
    };
    layout(&tr!("sales-title"), body).into_response()
}

/// A file's ingest report; a refused upload's form follows it, as filled in
/// (`typed`), to try again.
fn report_page(report: &IngestReport, typed: Option<&UploadFields>) -> Response {
    let status = match report.status {
        IngestStatus::Loaded => StatusCode::CREATED,
        IngestStatus::Duplicate => StatusCode::OK,
        IngestStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let body = html! {
        @match report.status {
            IngestStatus::Loaded => p {
                strong { (tr!("sales-loaded")) } " "
                (tr!(
                    "sales-loaded-rows",
                    loaded = i18n::count(report.rows_loaded),
                    total = i18n::count(report.rows_total),
                    n = report.rows_total
                ))
            },
            IngestStatus::Duplicate => p { strong { (tr!("sales-duplicate")) } " " (tr!("sales-duplicate-detail")) },
            IngestStatus::Rejected => div.error role="alert" { p { strong { (tr!("sales-refused")) } " "
                (report.file_error.as_ref().map_or_else(|| tr!("sales-refused-default"), |f| f.message.clone())) } },
        }
        @if report.replaced.is_some() {
            p {
                (with_elements(
                    &tr!("sales-replaces", name = SLOT),
                    &[html! { code { (report.name) } }],
                ))
            }
        }
        table {
            tbody {
                tr { th { (tr!("sales-file-name")) } td { (report.name) } }
                tr { th { (tr!("sales-file-rows-read")) } td { (i18n::count(report.rows_total)) } }
                tr { th { (tr!("sales-file-rows-loaded")) } td { (i18n::count(report.rows_loaded)) } }
                tr { th { (tr!("sales-file-rows-rejected")) } td { (i18n::count(report.rows_rejected)) } }
                tr { th { "SHA-256" } td { code { (report.sha256) } } }
                @if let Some(k) = &report.rejected_key { tr { th { (tr!("sales-rejected-rows")) } td { code { (k) } } } }
                tr { th { (tr!("sales-file-parquet")) } td { (i18n::count(report.curated_keys.len() as u64)) } }
                @if let Some(order) = report.date_order {
                    tr { th { (tr!("sales-file-date-order")) } td { (date_order_name(order)) " (" code { (order) } ")" } }
                }
                @if let Some(p) = &report.profile { tr { th { (tr!("sales-file-profile")) } td { (p) } } }
                @if !report.ignored_columns.is_empty() {
                    tr { th { (tr!("sales-file-ignored")) } td { (report.ignored_columns.join(", ")) } }
                }
            }
        }
        @if !report.errors.is_empty() {
            h2 { (tr!("sales-rejected-rows")) }
            table {
                thead { tr { th { (tr!("sales-error-line")) } th { (tr!("sales-error-column")) } th { (tr!("sales-error-problem")) } } }
                tbody {
                    @for e in &report.errors {
                        tr { td { (i18n::count(e.line)) } td { (e.column.unwrap_or("")) } td { (e.message) " " span.muted { "(" (e.code) ")" } } }
                    }
                }
            }
            @if report.rows_rejected > report.errors.len() as u64 {
                @let more = report.rows_rejected - report.errors.len() as u64;
                p.muted { (tr!("sales-errors-more", count = i18n::count(more), n = more)) }
            }
        }
        @for w in &report.warnings { div.error { p { (w) } } }
        @if matches!(report.status, IngestStatus::Rejected) {
            @if let Some(typed) = typed {
                h2 { (tr!("sales-upload-again")) }
                (upload_form(typed))
            }
        }
        p { a href=(href("/sales")) { (tr!("sales-back")) } }
    };
    (status, layout(&tr!("sales-file-title"), body)).into_response()
}

/// `POST /ui/sales` (the upload form).
pub(crate) async fn upload(State(s): State<Arc<Services>>, req: Request) -> Response {
    let (received, typed) = receive_file_keeping(&s, UploadQuery::default(), req).await;
    let report = match received {
        Ok(file) => ingest_received(&s, file).await.map_err(Problem::from),
        Err(p) => Err(p),
    };
    match report {
        Ok(report) => report_page(&report, Some(&typed)),
        // Refused before a report (a bad format, no file, too large): the form
        // again, as it was filled in.
        Err(p) => {
            let form = html! {
                (upload_form(&typed))
                p { a href=(href("/sales")) { (tr!("sales-back")) } }
            };
            refused(&p, &tr!("sales-file-title"), form)
        }
    }
}

/// The "Record a sale" form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SaleForm {
    key: String,
    store_id: String,
    sale_date: String,
    sku: String,
    quantity: String,
    unit_price: String,
}

impl SaleForm {
    /// An empty form for a sale on `day`, with a key of its own.
    fn on(day: NaiveDate) -> Self {
        Self {
            key: uuid::Uuid::new_v4().to_string(),
            sale_date: day.to_string(),
            ..Default::default()
        }
    }
}

/// `POST /ui/sales/single`: records one sale (once per form: its key) and shows
/// its report.
pub(crate) async fn record_sale(
    State(s): State<Arc<Services>>,
    OrPage(ApiForm(f)): OrPage<ApiForm<SaleForm>>,
) -> Response {
    let line = SaleLine::new(
        &f.store_id,
        &f.sale_date,
        &f.sku,
        &f.quantity,
        &f.unit_price,
    );
    match s.sales.record_sales(&f.key, &[line]).await {
        Ok(report) => report_page(&report, None),
        // Refused: the form again as typed, under the same key (nothing was
        // recorded under it, and a retry must not record twice), or a new one when
        // the key itself is what was refused.
        Err(e) => {
            let p = Problem::from(e);
            let mut again = f;
            let key_refused = p.code == "sales-replaced"
                || p.errors
                    .iter()
                    .any(|e| matches!(e.code, "idempotency-key-reused" | "bad-idempotency-key"));
            if key_refused {
                again.key = uuid::Uuid::new_v4().to_string();
            }
            let form = html! {
                (sale_form(&again, &p.errors))
                p { a href=(href("/sales")) { (tr!("sales-back")) } }
            };
            refused(&p, &tr!("sales-record-heading"), form)
        }
    }
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
    State(s): State<Arc<Services>>,
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
