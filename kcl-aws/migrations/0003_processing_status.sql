-- Processing status by object key (a cover's thumbnail, an OCR item).
CREATE TABLE processing_status (
    key        TEXT   PRIMARY KEY,
    status     TEXT   NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'DONE', 'ERROR')),
    message    TEXT   NOT NULL,
    -- Microseconds since the Unix epoch (UTC).
    updated_at BIGINT NOT NULL
);
