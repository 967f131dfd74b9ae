-- Append-only audit log. `seq` keeps append order for events at the same time.
CREATE TABLE audit_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    UUID   NOT NULL UNIQUE,
    action      TEXT   NOT NULL,
    entity_type TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    -- JSON text as written (`json` keeps it verbatim, unlike `jsonb`).
    data        JSON   NOT NULL,
    -- Microseconds since the Unix epoch (UTC).
    occurred_at BIGINT NOT NULL
);

-- An entity's history is one index range scan, already in order.
CREATE INDEX audit_by_entity ON audit_events (entity_type, entity_id, occurred_at, seq);
