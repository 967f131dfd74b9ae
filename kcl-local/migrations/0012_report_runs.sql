-- Runs of scheduled work (sales reports): one row per schedule and day, claimed
-- with a lease, so that however many processes run the schedule, one does the
-- day's work (another takes over once a dead holder's lease ran out).
CREATE TABLE report_runs (
    schedule    TEXT    NOT NULL,
    -- ISO date (YYYY-MM-DD).
    day         TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    -- Microseconds since the Unix epoch (UTC).
    lease_until INTEGER NOT NULL,
    done_at     INTEGER,
    -- JSON array of the report keys the run wrote.
    reports     TEXT,
    attempts    INTEGER NOT NULL,
    PRIMARY KEY (schedule, day)
) WITHOUT ROWID;
