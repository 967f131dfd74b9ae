-- Durable task queues with SQS semantics; several named queues share the table.
CREATE TABLE queue_messages (
    -- Send order (FIFO among visible messages).
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    -- Microseconds since the Unix epoch: hidden until then.
    visible_at    INTEGER NOT NULL,
    -- The receipt of the latest delivery; NULL before the first and once dead.
    receipt       TEXT    UNIQUE,
    sent_at       INTEGER NOT NULL,
    -- Set when the message is moved to the dead-letter queue.
    dead_at       INTEGER
);

-- Claiming: live messages of a queue in send order.
CREATE INDEX queue_live_fifo ON queue_messages (queue, seq) WHERE dead_at IS NULL;
-- No index on visible_at: with one, the planner collected every visible message
-- and sorted it on each receive; counts and the next deadline use queue_live_fifo.
-- The dead-letter queue.
CREATE INDEX queue_dead ON queue_messages (queue, dead_at) WHERE dead_at IS NOT NULL;
