-- Audit events written in the same transaction as the change they record, while
-- the audit log lives elsewhere (DynamoDB): relayed to it, then deleted.
CREATE TABLE audit_outbox (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    UUID   NOT NULL UNIQUE,
    action      TEXT   NOT NULL,
    entity_type TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    data        JSON   NOT NULL,
    occurred_at BIGINT NOT NULL
);
