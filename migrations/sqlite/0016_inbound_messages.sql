-- Messages people sent us, by the provider's id (twin: migrations/postgres/0016_inbound_messages.sql).
--
-- Providers retry webhooks and may deliver one twice; a repeated "OK" must
-- not acknowledge an alert that opened since. A reply whose id is here
-- was handled already. Pruned with the callbacks (CALLBACK_RETENTION_DAYS).
CREATE TABLE inbound_messages (
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, message_id)
);
CREATE INDEX inbound_messages_received ON inbound_messages (received_at);
