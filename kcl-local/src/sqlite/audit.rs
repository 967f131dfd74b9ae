//! [`AuditLog`] on SQLite.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use kcl_core::domain::{AuditAction, AuditEvent, AuditQuery, EntityKind, EntityRef, EventId};
use kcl_core::ports::{AuditLog, AuditLogError, AuditOutbox};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::codec::{micros, time, uuid};
use super::fault::{corrupt, db_error, refuse_duplicate, TxError, TX};
use super::SqliteStore;

fn event_from_row(row: &SqliteRow) -> Result<AuditEvent, AuditLogError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(db_error);
    let action = text("action")?;
    let kind = text("entity_type")?;
    let data = text("data")?;
    Ok(AuditEvent {
        event_id: EventId(uuid(&text("event_id")?)?),
        action: AuditAction::parse(&action).ok_or_else(|| corrupt(format!("action {action:?}")))?,
        entity: EntityRef {
            kind: EntityKind::parse(&kind).map_err(|_| corrupt(format!("entity type {kind:?}")))?,
            id: text("entity_id")?,
        },
        data: serde_json::from_str(&data).map_err(|e| corrupt(format!("event data: {e}")))?,
        occurred_at: time(row.try_get("occurred_at").map_err(db_error)?)?,
    })
}

impl SqliteStore {
    /// Whether events go to the outbox (see [`SqliteStore::set_audit_outbox`]);
    /// when they do, the outbox is no longer known to be drained.
    fn outbox_on(&self) -> bool {
        let on = self.db.audit_outbox.load(Ordering::Relaxed);
        if on {
            self.db.outbox_drained.store(false, Ordering::Relaxed);
        }
        on
    }

    /// Stores the audit event of a write in the write's transaction: in the audit
    /// log, or in the outbox (see [`SqliteStore::set_audit_outbox`]).
    pub(crate) async fn write_event(
        &self,
        tx: &mut SqliteConnection,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        let sql = if self.outbox_on() {
            "INSERT INTO audit_outbox (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES (?, ?, ?, ?, ?, ?)"
        } else {
            "INSERT INTO audit_events (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES (?, ?, ?, ?, ?, ?)"
        };
        sqlx::query(sql)
            .bind(event.event_id.to_string())
            .bind(event.action.as_str())
            .bind(event.entity.kind.as_str())
            .bind(event.entity.id.clone())
            .bind(event.data.to_string())
            .bind(micros(event.occurred_at))
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Commits `tx`, writing `event` in it first when `changed`: a change and its
    /// audit event land together or not at all, and no change, no event.
    pub(crate) async fn commit_noting(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        changed: bool,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        if changed {
            self.write_event(&mut tx, event).await?;
        }
        tx.commit().await
    }

    /// Writes `events` as [`write_event`](Self::write_event) does, in one statement
    /// (at most a few hundred: six parameters each).
    pub(crate) async fn write_events(
        &self,
        tx: &mut SqliteConnection,
        events: &[&AuditEvent],
    ) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let table = if self.outbox_on() {
            "audit_outbox"
        } else {
            "audit_events"
        };
        let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT INTO {table} (event_id, action, entity_type, entity_id, data, occurred_at) "
        ));
        sql.push_values(events, |mut row, event| {
            row.push_bind(event.event_id.to_string())
                .push_bind(event.action.as_str())
                .push_bind(event.entity.kind.as_str())
                .push_bind(event.entity.id.clone())
                .push_bind(event.data.to_string())
                .push_bind(micros(event.occurred_at));
        });
        sql.build().execute(tx).await?;
        Ok(())
    }

    async fn try_append(
        &self,
        event: &AuditEvent,
        data: &str,
    ) -> Result<(), TxError<AuditLogError>> {
        let inserted = sqlx::query(
            "INSERT INTO audit_events (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(event.event_id.to_string())
        .bind(event.action.as_str())
        .bind(event.entity.kind.as_str())
        .bind(event.entity.id.clone())
        .bind(data.to_owned())
        .bind(micros(event.occurred_at))
        .execute(&self.db.write)
        .await;
        refuse_duplicate(inserted, || AuditLogError::DuplicateId(event.event_id)).map(|_| ())
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError> {
        let data = serde_json::to_string(&event.data)
            .map_err(|e| AuditLogError::InvalidInput(format!("event data: {e}")))?;
        TX.retry(|| self.try_append(event, &data)).await
    }

    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        let rows = sqlx::query(
            "SELECT event_id, action, entity_type, entity_id, data, occurred_at FROM audit_events \
             WHERE entity_type = ? AND entity_id = ? ORDER BY occurred_at, seq LIMIT ?",
        )
        .bind(entity.kind.as_str())
        .bind(entity.id.clone())
        .bind(i64::from(limit))
        .fetch_all(&self.db.read)
        .await
        .map_err(db_error)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError> {
        // Each filter has an index that yields rows already in order
        // (migrations/0011_audit_search.sql): the scan stops after `limit` rows.
        let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT event_id, action, entity_type, entity_id, data, occurred_at FROM audit_events \
             WHERE 1 = 1",
        );
        if let Some(action) = query.action {
            sql.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(kind) = query.entity_type {
            sql.push(" AND entity_type = ").push_bind(kind.as_str());
        }
        if let Some(from) = query.from {
            sql.push(" AND occurred_at >= ").push_bind(micros(from));
        }
        if let Some(until) = query.until {
            sql.push(" AND occurred_at < ").push_bind(micros(until));
        }
        if let Some(p) = query.before {
            sql.push(" AND (occurred_at, event_id) < (")
                .push_bind(micros(p.occurred_at))
                .push(", ")
                .push_bind(p.event_id.to_string())
                .push(")");
        }
        sql.push(" ORDER BY occurred_at DESC, event_id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows = sql
            .build()
            .fetch_all(&self.db.read)
            .await
            .map_err(db_error)?;
        rows.iter().map(event_from_row).collect()
    }
}

#[async_trait]
impl AuditOutbox for SqliteStore {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        // The outbox off and found empty once: nothing has entered it since.
        let off = !self.db.audit_outbox.load(Ordering::Relaxed);
        if off && self.db.outbox_drained.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT event_id, action, entity_type, entity_id, data, occurred_at FROM audit_outbox \
             ORDER BY seq LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.read)
        .await
        .map_err(db_error)?;
        if rows.is_empty() && off {
            self.db.outbox_drained.store(true, Ordering::Relaxed);
        }
        let mut moved = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            let event = event_from_row(row)?;
            match log.append(&event).await {
                Ok(()) | Err(AuditLogError::DuplicateId(_)) => moved.push(event.event_id),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        for chunk in moved.chunks(200) {
            TX.retry(|| self.try_forget(chunk)).await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(moved.len() as u32),
        }
    }
}

impl SqliteStore {
    /// Deletes relayed events from the outbox.
    async fn try_forget(&self, ids: &[EventId]) -> Result<(), TxError<AuditLogError>> {
        let mut tx = self.db.begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM audit_outbox WHERE event_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
