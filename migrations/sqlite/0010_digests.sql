-- Digests of low-priority notifications (twin: migrations/postgres/0010_digests.sql).

-- A person may take low-priority notifications as one digest a day at a
-- local time (their quiet-hours time zone). digest_next_at is the timer: a
-- digest moves it on, fenced on its old value, in the transaction that
-- writes the digest, so a restart or a second instance neither loses nor
-- repeats one. NULL: no digest.
ALTER TABLE notification_settings ADD COLUMN digest_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE notification_settings ADD COLUMN digest_minute BIGINT NOT NULL DEFAULT 1020
    CHECK (digest_minute BETWEEN 0 AND 1439);
ALTER TABLE notification_settings ADD COLUMN digest_next_at BIGINT;
CREATE INDEX notification_settings_digest_idx ON notification_settings (digest_next_at)
    WHERE digest_next_at IS NOT NULL;

-- What waits for a person's next digest: one line per event. digest_event_id
-- is the digest that carried it (NULL: still waiting).
CREATE TABLE digest_items (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    line TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    digest_event_id BIGINT
);
CREATE UNIQUE INDEX digest_items_user_event_key ON digest_items (user_id, event_id);
CREATE INDEX digest_items_waiting_idx ON digest_items (user_id, created_at) WHERE digest_event_id IS NULL;
