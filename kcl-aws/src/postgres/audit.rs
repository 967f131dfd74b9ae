//! [`AuditLog`] on PostgreSQL.

use async_trait::async_trait;
use kcl_core::domain::{AuditAction, AuditEvent, AuditQuery, EntityKind, EntityRef, EventId};
use kcl_core::ports::{AuditLog, AuditLogError, AuditOutbox};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::codec::{micros, storable, time};
use super::fault::{corrupt, db_error, TxError, TX};
use super::PgStore;

fn event_from_row(row: &PgRow) -> Result<AuditEvent, AuditLogError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(db_error);
    let action = text("action")?;
    let kind = text("entity_type")?;
    let data = text("data")?;
    Ok(AuditEvent {
        event_id: EventId(row.try_get::<Uuid, _>("event_id").map_err(db_error)?),
        action: AuditAction::parse(&action).ok_or_else(|| corrupt(format!("action {action:?}")))?,
        entity: EntityRef {
            kind: EntityKind::parse(&kind).map_err(|_| corrupt(format!("entity type {kind:?}")))?,
            id: text("entity_id")?,
        },
        data: serde_json::from_str(&data).map_err(|e| corrupt(format!("event data: {e}")))?,
        occurred_at: time(row.try_get("occurred_at").map_err(db_error)?)?,
    })
}

impl PgStore {
    /// Whether events go to the outbox (see [`PgStore::set_audit_outbox`]); when
    /// they do, the outbox is no longer known to be drained.
    fn outbox_on(&self) -> bool {
        let on = self.audit_outbox.load(Ordering::Relaxed);
        if on {
            self.outbox_drained.store(false, Ordering::Relaxed);
        }
        on
    }

    /// Stores the audit event of a write in the write's transaction: in the audit
    /// log, or in the outbox (see [`PgStore::set_audit_outbox`]).
    pub(crate) async fn write_event(
        &self,
        tx: &mut PgConnection,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        let sql = if self.outbox_on() {
            "INSERT INTO audit_outbox (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES ($1, $2, $3, $4, $5::json, $6)"
        } else {
            "INSERT INTO audit_events (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES ($1, $2, $3, $4, $5::json, $6)"
        };
        // serde_json escapes U+0000, and entity ids are UUIDs: always storable.
        sqlx::query(sql)
            .bind(event.event_id.0)
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
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        changed: bool,
        event: &AuditEvent,
    ) -> Result<(), sqlx::Error> {
        if changed {
            self.write_event(&mut tx, event).await?;
        }
        tx.commit().await
    }

    /// Writes `events` as [`write_event`](Self::write_event) does, in one statement.
    pub(crate) async fn write_events(
        &self,
        tx: &mut PgConnection,
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
        let sql = format!(
            "INSERT INTO {table} (event_id, action, entity_type, entity_id, data, occurred_at) \
             SELECT event_id, action, entity_type, entity_id, data::json, occurred_at \
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[]) \
             WITH ORDINALITY AS e(event_id, action, entity_type, entity_id, data, occurred_at, ord) \
             ORDER BY ord"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(events.iter().map(|e| e.event_id.0).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>())
            .bind(
                events
                    .iter()
                    .map(|e| e.entity.kind.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                events
                    .iter()
                    .map(|e| e.entity.id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                events
                    .iter()
                    .map(|e| e.data.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(
                events
                    .iter()
                    .map(|e| micros(e.occurred_at))
                    .collect::<Vec<_>>(),
            )
            .execute(tx)
            .await?;
        Ok(())
    }

    async fn try_append(
        &self,
        event: &AuditEvent,
        data: &str,
    ) -> Result<(), TxError<AuditLogError>> {
        let inserted = sqlx::query(
            "INSERT INTO audit_events (event_id, action, entity_type, entity_id, data, occurred_at) \
             VALUES ($1, $2, $3, $4, $5::json, $6) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.event_id.0)
        .bind(event.action.as_str())
        .bind(event.entity.kind.as_str())
        .bind(event.entity.id.clone())
        .bind(data.to_owned())
        .bind(micros(event.occurred_at))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(TxError::Port(AuditLogError::DuplicateId(event.event_id)));
        }
        Ok(())
    }
}

#[async_trait]
impl AuditLog for PgStore {
    async fn append(&self, event: &AuditEvent) -> Result<(), AuditLogError> {
        if !storable(&event.entity.id) {
            return Err(AuditLogError::InvalidInput(
                "entity id holds U+0000, which PostgreSQL cannot store".into(),
            ));
        }
        // serde_json escapes U+0000 in strings, so the JSON text is always storable.
        let data = serde_json::to_string(&event.data)
            .map_err(|e| AuditLogError::InvalidInput(format!("event data: {e}")))?;
        TX.retry(|| self.try_append(event, &data)).await
    }

    async fn history(
        &self,
        entity: &EntityRef,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuditLogError> {
        if limit == 0 || !storable(&entity.id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT event_id, action, entity_type, entity_id, data::text AS data, occurred_at \
             FROM audit_events WHERE entity_type = $1 AND entity_id = $2 \
             ORDER BY occurred_at, seq LIMIT $3",
        )
        .bind(entity.kind.as_str())
        .bind(entity.id.clone())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, AuditLogError> {
        // Each filter has an index that yields rows already in order
        // (migrations/0011_audit_search.sql): the scan stops after `limit` rows.
        let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT event_id, action, entity_type, entity_id, data::text AS data, occurred_at \
             FROM audit_events WHERE true",
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
                .push_bind(p.event_id.0)
                .push(")");
        }
        sql.push(" ORDER BY occurred_at DESC, event_id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(event_from_row).collect()
    }
}

/// Relays in one transaction that locks the rows it moves (`FOR UPDATE SKIP
/// LOCKED`): servers relaying at once take different events. Within one process
/// relays take turns, so however long the audit log takes to answer, relays hold
/// at most one of the pool's connections.
#[async_trait]
impl AuditOutbox for PgStore {
    async fn relay(&self, log: &dyn AuditLog, limit: u32) -> Result<u32, AuditLogError> {
        // The outbox off and found empty once: nothing has entered it since.
        let off = !self.audit_outbox.load(Ordering::Relaxed);
        if off && self.outbox_drained.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let _turn = self.relay_gate.lock().await;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let rows = sqlx::query(
            "SELECT event_id, action, entity_type, entity_id, data::text AS data, occurred_at \
             FROM audit_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        if rows.is_empty() {
            if off {
                self.outbox_drained.store(true, Ordering::Relaxed);
            }
            return Ok(0);
        }
        let mut moved: Vec<Uuid> = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            let event = event_from_row(row)?;
            match log.append(&event).await {
                Ok(()) | Err(AuditLogError::DuplicateId(_)) => moved.push(event.event_id.0),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        sqlx::query("DELETE FROM audit_outbox WHERE event_id = ANY($1)")
            .bind(&moved)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        match failure {
            Some(e) => Err(e),
            None => Ok(moved.len() as u32),
        }
    }
}
