//! OCR job pages: the list with an upload form, and a job's texts.

use crate::http::access::href;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use kcl_core::domain::{AuditAction, ItemStatus, JobId};
use kcl_core::Services;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::page::{layout, or_page, OrPage};

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<u64>,
}

fn badge(s: ItemStatus) -> &'static str {
    s.as_str()
}

/// `GET /jobs`.
pub(crate) async fn index(
    State(s): State<Services>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<PageQuery>>,
) -> Response {
    let list = or_page!(s.jobs.list(q.page, Some(20)).await);
    let engine = s.jobs.engine();
    let more = list.page * u64::from(list.per_page) < list.total;
    let body = html! {
        @match &engine {
            Some(e) => p.muted { "Engine: " (e) },
            None => div.error { p { "OCR is not enabled in this build (cargo feature `tesseract`); jobs cannot be created." } },
        }
        table {
            thead { tr { th { "Name" } th { "Status" } th { "Images" } th { "Done" } th { "Errors" } th { "Created (UTC)" } } }
            tbody {
                @for j in &list.items {
                    tr {
                        td { a href=(href(&format!("/jobs/{}", j.job.id))) { (j.job.name) } }
                        td { (badge(j.status)) }
                        td { (j.counts.total()) }
                        td { (j.counts.done) }
                        td { (j.counts.error + j.counts.expired) }
                        td { (j.job.created_at.format("%Y-%m-%d %H:%M:%S")) }
                    }
                }
                @if list.items.is_empty() { tr { td colspan="6" class="muted" { "No jobs yet." } } }
            }
        }
        p.muted { (list.total) " jobs" @if more { " · " a href=(href(&format!("/jobs?page={}", list.page + 1))) { "Next page →" } } }
        h2 { "New job" }
        form method="post" action=(crate::http::access::form_action("/ui/jobs")) enctype="multipart/form-data" {
            fieldset {
                label { "Name " input name="name" required maxlength="200"; }
                label { "Images " input name="images" type="file" multiple required accept="image/jpeg,image/png,image/webp,image/gif"; }
                button type="submit" { "Read the text" }
            }
        }
    };
    if list.items.iter().all(|j| j.status.is_final()) {
        layout("OCR jobs", body).into_response()
    } else {
        crate::http::page::live_layout("OCR jobs", body).into_response()
    }
}

/// `GET /jobs/{id}`.
pub(crate) async fn job(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    let view = or_page!(s.jobs.get(JobId(id)).await);
    // The processing log: the job's history (a log that cannot answer leaves it out).
    let history = s.jobs.history(JobId(id), 200).await.unwrap_or_default();
    let image = |item: &serde_json::Value| {
        view.items
            .iter()
            .position(|i| serde_json::json!(i.id) == *item)
            .map_or_else(|| "an image".to_owned(), |n| format!("image {}", n + 1))
    };
    let body = html! {
        p { "Status " strong { (badge(view.status)) } " · " (view.counts.total()) @if view.counts.total() == 1 { " image" } @else { " images" } " · created "
            (view.job.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) }
        @for (n, item) in view.items.iter().enumerate() {
            h2 { "Image " (n + 1) " · " (badge(item.status)) }
            @if let Some(text) = &item.text {
                pre.text { (text) }
                @if let Some(c) = item.confidence { p.muted { "confidence " (format!("{c:.0}")) } }
            }
            @if let Some(err) = &item.error { div.error { p { (err) } } }
            @if item.duplicate_of.is_some() { p.muted { "same image as an earlier one: read once" } }
        }
        @if !history.is_empty() {
            h2 { "Processing log" }
            ol.log { @for e in &history {
                li {
                    (e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)) " — "
                    @match e.action {
                        AuditAction::ItemProcessing => { (image(&e.data["item"])) ": processing" }
                        AuditAction::ItemDone => {
                            (image(&e.data["item"])) ": done"
                            @if let Some(c) = e.data["confidence"].as_f64() { ", confidence " (format!("{c:.0}")) }
                            @if let Some(t) = e.data["seconds"].as_f64() { ", " (format!("{t:.2}")) " s" }
                        }
                        AuditAction::ItemError => {
                            (image(&e.data["item"])) ": error"
                            @if let Some(r) = e.data["reason"].as_str() { " (" (r) ")" }
                        }
                        AuditAction::ItemExpired => { (image(&e.data["item"])) ": expired" }
                        other => { "job " (other.as_str()) }
                    }
                }
            } }
        }
        form method="post" action=(crate::http::access::form_action(&format!("/ui/jobs/{}/delete", view.job.id))) {
            fieldset { legend { "Delete" } button type="submit" { "Delete this job and its images" } }
        }
    };
    if view.status.is_final() {
        layout(&view.job.name, body).into_response()
    } else {
        crate::http::page::live_layout(&view.job.name, body).into_response()
    }
}

/// `POST /ui/jobs` (the upload form).
pub(crate) async fn create(State(s): State<Services>, req: Request) -> Response {
    let job = or_page!(crate::http::forms::create_job(&s, req).await);
    Redirect::to(&href(&format!("/jobs/{}", job.job.id))).into_response()
}

/// `POST /ui/jobs/{id}/delete`.
pub(crate) async fn delete(
    State(s): State<Services>,
    OrPage(ApiPath(id)): OrPage<ApiPath<Uuid>>,
) -> Response {
    or_page!(s.jobs.delete(JobId(id)).await);
    Redirect::to(&href("/jobs")).into_response()
}
