-- The durable task queue (`PgQueue`): several named queues in one table, shaped
-- like SQS. Every time is the database's own clock (`now()`), never a host's.
CREATE TABLE task_queue (
    -- Send order, the tie-breaker between messages visible since the same instant.
    seq           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue         TEXT        NOT NULL,
    id            UUID        NOT NULL UNIQUE,
    body          TEXT        NOT NULL,
    -- Deliveries so far; at `max_receives` the next receive dead-letters the row.
    receive_count INTEGER     NOT NULL DEFAULT 0 CHECK (receive_count >= 0),
    -- The current delivery's lease, part of its receipt: a new delivery replaces
    -- it, so a receipt of an earlier delivery is refused as stale.
    lease         UUID,
    sent_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Hidden until then (in flight after a receive, or delayed by a retry).
    visible_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the row was dead-lettered; such rows are never delivered again.
    dead_at       TIMESTAMPTZ
);

-- Receiving walks this index in visibility order (live rows only, so dead letters
-- never slow it down); `FOR UPDATE SKIP LOCKED` keeps concurrent receivers apart.
CREATE INDEX task_queue_live ON task_queue (queue, visible_at, seq) WHERE dead_at IS NULL;
CREATE INDEX task_queue_dead ON task_queue (queue, dead_at) WHERE dead_at IS NOT NULL;

-- A queue table churns: vacuum it long before the default 20 % of dead tuples.
ALTER TABLE task_queue SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

-- The dead-letter queue, for operators (inspect, or requeue with
-- `UPDATE task_queue SET dead_at = NULL, receive_count = 0, visible_at = now() WHERE id = ...`).
CREATE VIEW task_queue_dead_letters AS
    SELECT queue, id, body, receive_count, sent_at, dead_at
    FROM task_queue WHERE dead_at IS NOT NULL;
