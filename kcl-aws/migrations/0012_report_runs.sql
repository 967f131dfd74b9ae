-- Runs of scheduled work (sales reports): one row per schedule and day, claimed
-- with a lease, so that however many processes run the schedule, one does the
-- day's work (another takes over once a dead holder's lease ran out).
CREATE TABLE report_runs (
    schedule    TEXT    NOT NULL,
    day         DATE    NOT NULL,
    holder      UUID    NOT NULL,
    -- Microseconds since the Unix epoch (UTC).
    lease_until BIGINT  NOT NULL,
    done_at     BIGINT,
    -- The report keys the run wrote.
    reports     JSON,
    attempts    INTEGER NOT NULL,
    PRIMARY KEY (schedule, day)
);
