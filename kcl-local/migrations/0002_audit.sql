-- Append-only audit log. `seq` keeps append order for events at the same time.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    action      TEXT    NOT NULL,
    entity_type TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    -- JSON text.
    data        TEXT    NOT NULL,
    -- Microseconds since the Unix epoch (UTC).
    occurred_at INTEGER NOT NULL
);

-- An entity's history is one index range scan, already in order.
CREATE INDEX audit_by_entity ON audit_events (entity_type, entity_id, occurred_at, seq);
