-- Searches across entities (GET /api/audit?action=&entity_type=&from=&to=), newest
-- first: one index per filter, each already in the answer's order, so a page reads
-- only its own rows (a filter on both action and entity type walks the action's).
CREATE INDEX audit_by_action ON audit_events (action, occurred_at, event_id);
CREATE INDEX audit_by_type ON audit_events (entity_type, occurred_at, event_id);
CREATE INDEX audit_by_time ON audit_events (occurred_at, event_id);
