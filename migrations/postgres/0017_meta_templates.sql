-- Meta's message templates (twin: migrations/sqlite/0017_meta_templates.sql).
--
-- Outside the 24-hour window Meta delivers only an approved template. Each
-- Meta account's templates are synced from its WhatsApp Business Account
-- (GET /{waba_id}/message_templates) and replaced as a whole by each sync.
CREATE TABLE meta_templates (
    account_id BIGINT NOT NULL REFERENCES provider_accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    named BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    -- JSON array: the body's parameters in order.
    params TEXT NOT NULL,
    quick_reply BIGINT,
    PRIMARY KEY (account_id, name, language)
);

-- Each account's last sync: when, how many, and Meta's reason when it
-- refused (a refused sync changes no template).
CREATE TABLE meta_template_syncs (
    account_id BIGINT PRIMARY KEY REFERENCES provider_accounts(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    synced_at BIGINT,
    templates BIGINT NOT NULL DEFAULT 0,
    error TEXT
);

-- An admin's choice of template for a notification type and language, and
-- which variable fills each parameter (JSON object). Without a row the
-- template named like the type is used, parameters filled by name.
CREATE TABLE meta_template_mappings (
    notification_type TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('id','en')),
    template_name TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (notification_type, language)
);

-- What Meta bills per message by category (JSON object, rupiah: utility,
-- marketing, authentication; service = free text in the window). A category
-- without a price costs the account's price_rupiah.
ALTER TABLE provider_accounts ADD COLUMN template_prices TEXT NOT NULL DEFAULT '{}';
