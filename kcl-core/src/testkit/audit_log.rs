//! The [`AuditLog`] contract.

use chrono::Duration;
use uuid::Uuid;

use crate::domain::{AuditAction, AuditEvent, EntityKind, EntityRef, EventId};
use crate::ports::{AuditLog, AuditLogError, Clock, SystemClock};

fn event(entity: &EntityRef, action: AuditAction, at_ms: i64) -> AuditEvent {
    AuditEvent {
        event_id: EventId(Uuid::now_v7()),
        action,
        entity: entity.clone(),
        data: serde_json::json!({"n": at_ms, "text": "ação"}),
        occurred_at: SystemClock.now() + Duration::milliseconds(at_ms),
    }
}

/// Runs every audit-log case.
pub async fn run(log: &dyn AuditLog) {
    let entity = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    let other = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    let created = event(&entity, AuditAction::Created, 0);
    let updated = event(&entity, AuditAction::Updated, 5);
    let rented = event(&entity, AuditAction::Rented, 5); // same time: append order
    let late = event(&entity, AuditAction::Deleted, 10);
    // Appended out of time order: history is by time, then append order.
    for e in [&created, &late, &updated, &rented] {
        log.append(e).await.expect("append");
    }
    log.append(&event(&other, AuditAction::Created, 1))
        .await
        .expect("append");
    assert!(
        matches!(
            log.append(&created).await,
            Err(AuditLogError::DuplicateId(_))
        ),
        "appending the same event id twice must be DuplicateId"
    );
    let history = log.history(&entity, 100).await.expect("history");
    assert_eq!(
        history.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [
            created.event_id,
            updated.event_id,
            rented.event_id,
            late.event_id
        ],
        "history is oldest first, ties in append order, only this entity"
    );
    assert_eq!(
        history[0], created,
        "events read back unchanged (data, time, action)"
    );
    assert_eq!(
        log.history(&entity, 2).await.expect("history").len(),
        2,
        "limit"
    );
    let nobody = EntityRef {
        kind: EntityKind::Book,
        id: Uuid::new_v4().to_string(),
    };
    assert!(log.history(&nobody, 10).await.expect("history").is_empty());
}
