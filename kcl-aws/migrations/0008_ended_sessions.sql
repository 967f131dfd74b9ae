-- Web UI sessions ended by a logout: a copied session cookie is refused on every
-- server until the session would have expired anyway (then the row is purged).
CREATE TABLE ended_sessions (
    id         TEXT   PRIMARY KEY,
    -- Microseconds since the Unix epoch (UTC).
    expires_at BIGINT NOT NULL
);
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires_at);
