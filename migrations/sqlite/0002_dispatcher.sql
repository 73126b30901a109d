-- Dispatcher additions (twin: migrations/postgres/0002_dispatcher.sql).

-- A second provider reference: Fonnte reports delivered/read keyed by its
-- "stateid", not by the message id it returned at send time.
ALTER TABLE deliveries ADD COLUMN provider_ref TEXT;
-- The group rule that routed a group delivery (analytics: busiest groups).
ALTER TABLE deliveries ADD COLUMN rule_id BIGINT;
CREATE INDEX deliveries_provider_ref_idx ON deliveries (provider, provider_ref) WHERE provider_ref IS NOT NULL;

-- Provider callbacks, kept for audit and so a replayed callback is recognised.
CREATE TABLE provider_callbacks (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    account_id BIGINT,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX provider_callbacks_received_idx ON provider_callbacks (received_at);
