-- OCR jobs and their items. Times are INTEGER microseconds since the Unix epoch
-- (UTC); ids are lowercase hyphenated UUID text.
CREATE TABLE ocr_jobs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Listings are newest first (created_at, then id).
CREATE INDEX ocr_jobs_by_created ON ocr_jobs (created_at DESC, id DESC);

CREATE TABLE ocr_items (
    id           TEXT    NOT NULL PRIMARY KEY,
    job_id       TEXT    NOT NULL REFERENCES ocr_jobs (id) ON DELETE CASCADE,
    -- The item's position in its job (creation order).
    seq          INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    -- The earlier item of the same job this one takes its result from.
    duplicate_of TEXT,
    status       TEXT    NOT NULL
        CHECK (status IN ('PENDING', 'PROCESSING', 'DONE', 'ERROR', 'EXPIRED')),
    text         TEXT,
    -- An f32, stored as a double: reads back exactly.
    confidence   REAL,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A job's items in order (reads, counts, deletes, finishing an item and its duplicates).
CREATE UNIQUE INDEX ocr_items_by_job ON ocr_items (job_id, seq);
-- The sweeper: unfinished items by deadline.
CREATE INDEX ocr_items_unfinished ON ocr_items (expires_at)
    WHERE status IN ('PENDING', 'PROCESSING');
