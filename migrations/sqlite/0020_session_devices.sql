-- Sessions say which browser holds them and when it was last seen, so a
-- person can list their own sessions and end the ones they do not know
-- (twin: migrations/postgres/0020_session_devices.sql).
ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
