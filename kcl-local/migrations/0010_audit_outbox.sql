-- Audit events written in the same transaction as the change they record, while
-- the audit log lives elsewhere (DynamoDB): relayed to it, then deleted.
CREATE TABLE audit_outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    action      TEXT    NOT NULL,
    entity_type TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL
);
