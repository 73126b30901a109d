-- The audit trail: every admin change with who, when, what, and the record
-- before and after (JSON; never a secret), written in the same transaction
-- as the change (twin: migrations/postgres/0023_audit_log.sql).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    -- NULL: the command line, the system, or a failed sign-in.
    actor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    -- Who, as named at the time (kept when the person is gone).
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before TEXT,
    after TEXT
);
-- The page reads newest first, by area (action's prefix) and by person.
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
