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

-- Status callbacks that arrived before their send was recorded (a provider
-- can answer our request and call back within milliseconds). They wait here
-- and are applied as soon as the send is recorded. message_key is the message
-- id, or "ref:<reference>" for Fonnte's stateid-only receipts.
CREATE TABLE early_statuses (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    message_key TEXT NOT NULL,
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    error TEXT,
    reference TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX early_statuses_key_idx ON early_statuses (provider, message_key);
