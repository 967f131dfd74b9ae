//! The audit page: every event of an action, a kind of entity or a period, newest
//! first, a page at a time (`GET /api/audit`'s search).

use crate::http::access::href;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kcl_core::domain::{AuditAction, AuditEvent, EntityKind};
use kcl_core::Services;
use maud::{html, Markup};
use std::sync::Arc;

use crate::http::extract::ApiQuery;
use crate::http::forms::audit::{read, AuditParams};
use crate::http::i18n::{self, tr};
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

/// An action as the pages show it, in the request's language (its stable name,
/// kept in queries and form values, when the catalogue has no label for it).
pub(crate) fn action_label(a: AuditAction) -> String {
    match a {
        AuditAction::Created => tr!("audit-action-created"),
        AuditAction::Updated => tr!("audit-action-updated"),
        AuditAction::Deleted => tr!("audit-action-deleted"),
        AuditAction::Rented => tr!("audit-action-rented"),
        AuditAction::Returned => tr!("audit-action-returned"),
        AuditAction::CoverUploaded => tr!("audit-action-cover-uploaded"),
        AuditAction::ThumbnailCreated => tr!("audit-action-thumbnail-created"),
        AuditAction::Ingested => tr!("audit-action-ingested"),
        AuditAction::ItemProcessing => tr!("audit-action-item-processing"),
        AuditAction::ItemDone => tr!("audit-action-item-done"),
        AuditAction::ItemError => tr!("audit-action-item-error"),
        AuditAction::ItemExpired => tr!("audit-action-item-expired"),
        _ => a.as_str().to_owned(),
    }
}

/// A kind of entity as the pages show it, in the request's language (its stable
/// name when the catalogue has no label for it).
fn kind_label(k: EntityKind) -> String {
    match k {
        EntityKind::Book => tr!("audit-entity-book"),
        EntityKind::Job => tr!("audit-entity-job"),
        EntityKind::SalesFile => tr!("audit-entity-sales-file"),
        EntityKind::Stock => tr!("audit-entity-stock"),
        _ => k.as_str().to_owned(),
    }
}

fn filters(q: &AuditParams) -> Markup {
    let action = q.action.clone().unwrap_or_default();
    let kind = q.entity_type.clone().unwrap_or_default();
    html! {
        form method="get" action=(href("/audit")) {
            fieldset {
                label { (tr!("audit-filter-action")) " "
                    select name="action" {
                        option value="" selected[action.is_empty()] { (tr!("audit-filter-any")) }
                        @for a in AuditAction::ALL {
                            option value=(a.as_str()) selected[a.as_str() == action] { (action_label(*a)) }
                        }
                    }
                }
                label { (tr!("audit-filter-entity")) " "
                    select name="entity_type" {
                        option value="" selected[kind.is_empty()] { (tr!("audit-filter-any")) }
                        @for k in KINDS {
                            option value=(k.as_str()) selected[k.as_str() == kind] { (kind_label(k)) }
                        }
                    }
                }
                label { (tr!("audit-filter-from")) " " input name="from" type="date" value=(q.from.clone().unwrap_or_default()); }
                label { (tr!("audit-filter-to")) " " input name="to" type="date" value=(q.to.clone().unwrap_or_default()); }
                button type="submit" { (tr!("audit-filter-submit")) }
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
        .map(|(k, v)| format!("{k}={}", crate::http::page::url_encode(v)))
        .collect();
    href(&format!("/audit?{}", query.join("&")))
}

/// `GET /audit`.
pub(crate) async fn index(
    State(s): State<Arc<Services>>,
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
            status = crate::http::page::status_of(&p);
            html! {
                (filters(&q))
                (crate::http::page::problem_box(&p))
            }
        }
        Ok(page) => html! {
            (filters(&q))
            table {
                thead { tr { th { (tr!("audit-col-when")) } th { (tr!("audit-col-action")) } th { (tr!("audit-col-entity")) } th { (tr!("audit-col-id")) } th { (tr!("audit-col-data")) } } }
                tbody {
                    @for e in &page.items {
                        tr {
                            td { time datetime=(e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)) { (i18n::date_time_seconds(e.occurred_at)) } }
                            td { (action_label(e.action)) }
                            td { (kind_label(e.entity.kind)) }
                            td { (entity_link(e)) }
                            td { code { (data(e)) } }
                        }
                    }
                    @if page.items.is_empty() { tr { td colspan="5" class="muted" { (tr!("audit-none")) } } }
                }
            }
            p.muted {
                @if !first_page { a href=(next_link(&q, "")) { (tr!("audit-newest")) } " " }
                @if let Some(c) = &page.next_cursor { a href=(next_link(&q, c)) rel="next" { (tr!("audit-older")) } }
            }
        },
    };
    (status, layout(&tr!("audit-title"), body)).into_response()
}
