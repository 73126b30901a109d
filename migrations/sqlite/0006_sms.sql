-- SMS fallback (twin: migrations/postgres/0006_sms.sql).

-- The WhatsApp delivery an SMS stands in for. Unique: instances sweeping at
-- the same moment add one SMS, not two.
ALTER TABLE deliveries ADD COLUMN fallback_of BIGINT;
CREATE UNIQUE INDEX deliveries_fallback_of_idx ON deliveries (fallback_of) WHERE fallback_of IS NOT NULL;

-- What the sweeper looks for: WhatsApp messages to a person that failed
-- recently, and urgent ones still not delivered.
CREATE INDEX deliveries_whatsapp_failed_idx ON deliveries (failed_at)
    WHERE channel = 'whatsapp' AND status = 'failed';
CREATE INDEX deliveries_whatsapp_open_idx ON deliveries (created_at)
    WHERE channel = 'whatsapp' AND status IN ('queued', 'sending', 'sent');
