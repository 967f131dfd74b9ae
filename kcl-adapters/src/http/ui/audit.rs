//! The audit page: every event of an action, a kind of entity or a period, newest
//! first, a page at a time (`GET /api/audit`'s search).

use crate::http::access::href;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kcl_core::domain::{AuditAction, AuditEvent, EntityKind};
use kcl_core::Services;
use maud::{html, Markup};

use crate::http::extract::ApiQuery;
use crate::http::forms::audit::{read, AuditParams};
use crate::http::page::{layout, OrPage};
use crate::http::problem::Problem;

const KINDS: [EntityKind; 4] = [
    EntityKind::Book,
    EntityKind::Job,
    EntityKind::SalesFile,
    EntityKind::Stock,
];

/// The longest data shown in a row; the API has the whole event.
const DATA_SHOWN: usize = 240;

fn filters(q: &AuditParams) -> Markup {
    let action = q.action.clone().unwrap_or_default();
    let kind = q.entity_type.clone().unwrap_or_default();
    html! {
        form method="get" action=(href("/audit")) {
            fieldset {
                label { "Action "
                    select name="action" {
                        option value="" selected[action.is_empty()] { "any" }
                        @for a in AuditAction::ALL {
                            option value=(a.as_str()) selected[a.as_str() == action] { (a.as_str()) }
                        }
                    }
                }
                label { "Entity "
                    select name="entity_type" {
                        option value="" selected[kind.is_empty()] { "any" }
                        @for k in KINDS {
                            option value=(k.as_str()) selected[k.as_str() == kind] { (k.as_str()) }
                        }
                    }
                }
                label { "From " input name="from" type="date" value=(q.from.clone().unwrap_or_default()); }
                label { "To " input name="to" type="date" value=(q.to.clone().unwrap_or_default()); }
                button type="submit" { "Show" }
            }
        }
    }
}

fn entity_link(e: &AuditEvent) -> Markup {
    let path = match e.entity.kind {
        EntityKind::Book => Some(format!("/books/{}", e.entity.id)),
        EntityKind::Job => Some(format!("/jobs/{}", e.entity.id)),
        _ => None,
    };
    html! {
        @match path {
            // A deleted book's page answers 404; its history stays here.
            Some(p) if e.action != AuditAction::Deleted => a href=(href(&p)) { (e.entity.id) },
            _ => code { (e.entity.id) },
        }
    }
}

fn data(e: &AuditEvent) -> String {
    let mut text = e.data.to_string();
    if text.len() > DATA_SHOWN {
        let mut end = DATA_SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The link to the page after the one shown: the same filters, the next cursor.
fn next_link(q: &AuditParams, cursor: &str) -> String {
    let pairs = [
        ("action", q.action.clone().unwrap_or_default()),
        ("entity_type", q.entity_type.clone().unwrap_or_default()),
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("cursor", cursor.to_owned()),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", super::pages::encode(v)))
        .collect();
    href(&format!("/audit?{}", query.join("&")))
}

/// `GET /audit`.
pub(crate) async fn index(
    State(s): State<Services>,
    OrPage(ApiQuery(mut q)): OrPage<ApiQuery<AuditParams>>,
) -> Response {
    // The page searches; one entity's history is on its own page.
    q.entity_id = None;
    q.limit = Some(q.limit.unwrap_or(50));
    let first_page = q.cursor.as_deref().is_none_or(str::is_empty);
    let mut status = StatusCode::OK;
    let body = match read(&s, q.clone()).await {
        Err(e) => {
            let p = Problem::from(e);
            status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            html! {
                (filters(&q))
                (crate::http::page::problem_box(&p))
            }
        }
        Ok(page) => html! {
            (filters(&q))
            table {
                thead { tr { th { "When (UTC)" } th { "Action" } th { "Entity" } th { "Id" } th { "Data" } } }
                tbody {
                    @for e in &page.items {
                        tr {
                            td { (e.occurred_at.format("%Y-%m-%d %H:%M:%S")) }
                            td { (e.action.as_str()) }
                            td { (e.entity.kind.as_str()) }
                            td { (entity_link(e)) }
                            td { code { (data(e)) } }
                        }
                    }
                    @if page.items.is_empty() { tr { td colspan="5" class="muted" { "No events match." } } }
                }
            }
            p.muted {
                @if !first_page { a href=(next_link(&q, "")) { "← Newest" } " " }
                @if let Some(c) = &page.next_cursor { a href=(next_link(&q, c)) rel="next" { "Older events →" } }
            }
        },
    };
    (status, layout("Audit log", body)).into_response()
}
