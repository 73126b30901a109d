-- Meta's 24-hour customer-service window (twin: migrations/sqlite/0015_whatsapp_windows.sql).
--
-- Meta's Cloud API delivers free text only within 24 hours of the person's
-- last message to the business number; outside it, only approved
-- templates (error 131047 otherwise). The last inbound message per
-- account and number is kept here, from Meta's webhook, so every instance
-- and a restart know which windows are open.
CREATE TABLE whatsapp_windows (
    account_id BIGINT NOT NULL REFERENCES provider_accounts(id) ON DELETE CASCADE,
    -- E.164, as the deliveries' recipients.
    phone TEXT NOT NULL,
    last_inbound_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone)
);
