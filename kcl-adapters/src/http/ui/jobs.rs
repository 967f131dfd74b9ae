//! OCR job pages: the list with an upload form, and a job's texts.

use crate::http::access::href;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use kcl_core::domain::{AuditAction, ItemStatus, JobId};
use kcl_core::Services;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::i18n::{self, tr};
use crate::http::page::{layout, or_page, OrPage};

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<u64>,
}

/// A status as the pages show it, in the request's language.
fn badge(s: ItemStatus) -> String {
    match s {
        ItemStatus::Pending => tr!("jobs-status-pending"),
        ItemStatus::Processing => tr!("jobs-status-processing"),
        ItemStatus::Done => tr!("jobs-status-done"),
        ItemStatus::Error => tr!("jobs-status-error"),
        ItemStatus::Expired => tr!("jobs-status-expired"),
    }
}

/// `GET /jobs`.
pub(crate) async fn index(
    State(s): State<Arc<Services>>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<PageQuery>>,
) -> Response {
    let list = or_page!(s.jobs.list(q.page, Some(20)).await);
    let engine = s.jobs.engine();
    let more = list.page * u64::from(list.per_page) < list.total;
    let body = html! {
        @match &engine {
            Some(e) => p.muted { (tr!("jobs-engine", engine = e.as_str())) },
            None => div.error { p { (tr!("jobs-no-engine")) } },
        }
        table {
            thead { tr { th { (tr!("jobs-col-name")) } th { (tr!("jobs-col-status")) } th { (tr!("jobs-col-images")) } th { (tr!("jobs-col-done")) } th { (tr!("jobs-col-errors")) } th { (tr!("jobs-col-created")) } } }
            tbody {
                @for j in &list.items {
                    tr {
                        td { a href=(href(&format!("/jobs/{}", j.job.id))) { (j.job.name) } }
                        td { (badge(j.status)) }
                        td { (i18n::count(j.counts.total())) }
                        td { (i18n::count(j.counts.done)) }
                        td { (i18n::count(j.counts.error + j.counts.expired)) }
                        td { time datetime=(j.job.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (i18n::date_time(j.job.created_at)) } }
                    }
                }
                @if list.items.is_empty() { tr { td colspan="6" class="muted" { (tr!("jobs-none")) } } }
            }
        }
        p.muted { (tr!("jobs-total", count = i18n::count(list.total), n = list.total as i64)) @if more { " · " a href=(href(&format!("/jobs?page={}", list.page + 1))) { (tr!("next-page")) } } }
        h2 { (tr!("jobs-new")) }
        (job_form(""))
    };
    let title = tr!("jobs-title");
    if list.items.iter().all(|j| j.status.is_final()) {
        layout(&title, body).into_response()
    } else {
        crate::http::page::live_layout(&title, body).into_response()
    }
}

/// `GET /jobs/{id}`.
pub(crate) async fn job(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    let view = or_page!(s.jobs.get(JobId(id)).await);
    // The processing log: the job's history (a log that cannot answer leaves it out).
    let history = s.jobs.history(JobId(id), 200).await.unwrap_or_default();
    let image = |item: &serde_json::Value| {
        view.items
            .iter()
            .position(|i| serde_json::json!(i.id) == *item)
            .map_or_else(
                || tr!("jobs-an-image"),
                |n| tr!("jobs-image-n", n = i18n::count(n as u64 + 1)),
            )
    };
    let total = view.counts.total();
    let body = html! {
        p { (tr!("jobs-status")) " " strong { (badge(view.status)) } " · "
            (tr!("jobs-images", count = i18n::count(total), n = total as i64)) " · "
            (tr!("jobs-created")) " "
            time datetime=(view.job.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (i18n::date_time(view.job.created_at)) } }
        @for (n, item) in view.items.iter().enumerate() {
            h2 { (tr!("jobs-image-heading", n = i18n::count(n as u64 + 1))) " · " (badge(item.status)) }
            @if let Some(text) = &item.text {
                pre.text { (text) }
                @if let Some(c) = item.confidence { p.muted { (tr!("jobs-confidence", value = format!("{c:.0}"))) } }
            }
            @if let Some(err) = &item.error { div.error { p { (err) } } }
            @if item.duplicate_of.is_some() { p.muted { (tr!("jobs-duplicate")) } }
        }
        @if !history.is_empty() {
            h2 { (tr!("jobs-log")) }
            ol.log { @for e in &history {
                li {
                    time datetime=(e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)) { (i18n::date_time_seconds(e.occurred_at)) } " — "
                    @match e.action {
                        AuditAction::ItemProcessing => { (tr!("jobs-log-processing", image = image(&e.data["item"]))) }
                        AuditAction::ItemDone => {
                            (tr!("jobs-log-done", image = image(&e.data["item"])))
                            @if let Some(c) = e.data["confidence"].as_f64() { ", " (tr!("jobs-log-confidence", value = format!("{c:.0}"))) }
                            @if let Some(t) = e.data["seconds"].as_f64() {
                                ", " (tr!("jobs-log-seconds", seconds = i18n::locale().decimal((t * 100.0).round() as i128, 2, true)))
                            }
                        }
                        AuditAction::ItemError => {
                            (tr!("jobs-log-error", image = image(&e.data["item"])))
                            @if let Some(r) = e.data["reason"].as_str() { " (" (r) ")" }
                        }
                        AuditAction::ItemExpired => { (tr!("jobs-log-expired", image = image(&e.data["item"]))) }
                        other => { (tr!("jobs-log-job", action = super::audit::action_label(other))) }
                    }
                }
            } }
        }
        form method="post" action=(crate::http::access::form_action(&format!("/ui/jobs/{}/delete", view.job.id))) {
            fieldset { legend { (tr!("jobs-delete")) } button type="submit" { (tr!("jobs-delete-submit")) } }
        }
    };
    if view.status.is_final() {
        layout(&view.job.name, body).into_response()
    } else {
        crate::http::page::live_layout(&view.job.name, body).into_response()
    }
}

/// The new-job form, its name as typed (the images must be chosen again: a page
/// cannot choose files for its user).
fn job_form(name: &str) -> Markup {
    html! {
        form method="post" action=(crate::http::access::form_action("/ui/jobs")) enctype="multipart/form-data" {
            fieldset {
                label { (tr!("jobs-new-name")) " " input name="name" required maxlength="200" value=(name); }
                label { (tr!("jobs-new-images")) " " input name="images" type="file" multiple required accept="image/jpeg,image/png,image/webp,image/gif"; }
                button type="submit" { (tr!("jobs-new-submit")) }
            }
        }
    }
}

/// `POST /ui/jobs` (the upload form); refused, the form again with its name.
pub(crate) async fn create(State(s): State<Arc<Services>>, req: Request) -> Response {
    match crate::http::forms::create_job_keeping(&s, req).await {
        (Ok(job), _) => Redirect::to(&href(&format!("/jobs/{}", job.job.id))).into_response(),
        (Err(p), name) => {
            let form = html! {
                (job_form(&name))
                p { a href=(href("/jobs")) { (tr!("jobs-back")) } }
            };
            crate::http::page::refused(&p, &tr!("jobs-new"), form)
        }
    }
}

/// `POST /ui/jobs/{id}/delete`.
pub(crate) async fn delete(
    State(s): State<Arc<Services>>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    or_page!(s.jobs.delete(JobId(id)).await);
    Redirect::to(&href("/jobs")).into_response()
}
