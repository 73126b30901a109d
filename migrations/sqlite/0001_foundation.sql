-- The data model, SQLite flavour. migrations/postgres/0001_foundation.sql is its
-- twin; app/tests/schema_parity.rs proves both define the same tables and columns.
--
-- Conventions shared by both backends (so one SQL text serves both):
-- * timestamps are BIGINT milliseconds since the Unix epoch, UTC;
-- * vocabularies (role, priority, channel, status, ...) are TEXT wire names from
--   the domain crate, guarded by CHECK constraints;
-- * JSON documents are TEXT.

CREATE TABLE work_zones (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    phone TEXT,
    phone_verified_at BIGINT,
    role TEXT NOT NULL CHECK (role IN ('admin','manager','supervisor','technician','noc','customer_service')),
    work_zone TEXT REFERENCES work_zones(code),
    locale TEXT NOT NULL DEFAULT 'id' CHECK (locale IN ('id','en')),
    time_zone TEXT NOT NULL DEFAULT 'Asia/Jakarta',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_zone_idx ON users (role, work_zone);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- One row per user. In-app is always on, so it has no switch.
CREATE TABLE notification_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    push_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    whatsapp_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    quiet_hours_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- minutes after local midnight; start > end crosses midnight (22:00 -> 06:00)
    quiet_start_minute BIGINT NOT NULL DEFAULT 1320 CHECK (quiet_start_minute BETWEEN 0 AND 1439),
    quiet_end_minute BIGINT NOT NULL DEFAULT 360 CHECK (quiet_end_minute BETWEEN 0 AND 1439),
    quiet_time_zone TEXT NOT NULL DEFAULT 'Asia/Jakarta',
    critical_bypass_quiet BOOLEAN NOT NULL DEFAULT TRUE,
    receive_group_notifications BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at BIGINT NOT NULL
);

-- Notification type x channel switches; a missing row means "on".
CREATE TABLE notification_type_settings (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('in_app','whatsapp','whatsapp_group','email','push','sms','voice')),
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, notification_type, channel)
);

CREATE TABLE whatsapp_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- the provider's group chat id, e.g. 120363025246125486@g.us
    chat_id TEXT NOT NULL,
    -- the number that administers the group (optional)
    phone_number TEXT,
    category TEXT NOT NULL CHECK (category IN ('technicians','supervisors','managers','noc','customer_service','all')),
    -- NULL: all work zones
    work_zone TEXT REFERENCES work_zones(code),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX whatsapp_groups_name_key ON whatsapp_groups (name);
CREATE INDEX whatsapp_groups_category_zone_idx ON whatsapp_groups (category, work_zone);

CREATE TABLE whatsapp_group_members (
    group_id BIGINT NOT NULL REFERENCES whatsapp_groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX whatsapp_group_members_user_idx ON whatsapp_group_members (user_id);

CREATE TABLE message_templates (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('in_app','whatsapp','whatsapp_group','email','push','sms','voice')),
    locale TEXT NOT NULL CHECK (locale IN ('id','en')),
    subject TEXT,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX message_templates_key_channel_locale_key ON message_templates (key, channel, locale);

-- Which notification types go to which group, under which conditions.
CREATE TABLE notification_group_rules (
    id INTEGER PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES whatsapp_groups(id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    template_id BIGINT REFERENCES message_templates(id) ON DELETE SET NULL,
    -- conditions: the event's priority must be at least this (NULL: any) ...
    min_priority TEXT CHECK (min_priority IN ('low','medium','high','critical')),
    -- ... and its work zone must be this one (NULL: any)
    work_zone TEXT REFERENCES work_zones(code),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_group_rules_type_idx ON notification_group_rules (notification_type, enabled);
CREATE INDEX notification_group_rules_group_idx ON notification_group_rules (group_id);

-- Credentials live here and nowhere else: no query sends them to the browser.
CREATE TABLE provider_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('in_app','whatsapp','whatsapp_group','email','push','sms','voice')),
    base_url TEXT,
    credentials TEXT NOT NULL DEFAULT '{}',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- lower goes first; failover walks up
    failover_order BIGINT NOT NULL DEFAULT 0,
    rate_limit_per_minute BIGINT NOT NULL DEFAULT 60,
    price_rupiah BIGINT NOT NULL DEFAULT 0,
    timeout_ms BIGINT NOT NULL DEFAULT 10000,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX provider_accounts_name_key ON provider_accounts (name);

-- API keys for the ticketing system; only a SHA-256 of the key is kept.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);

-- Every event taken in, by the API or by the app itself (test sends, codes).
-- (source, idempotency_key) is unique, so a retried POST finds the first one.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    idempotency_key TEXT,
    notification_type TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('low','medium','high','critical')),
    work_zone TEXT,
    recipients TEXT NOT NULL DEFAULT '{}',
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_source_idempotency_key ON events (source, idempotency_key);
CREATE INDEX events_created_idx ON events (created_at);

-- The in-app inbox.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    event_id BIGINT REFERENCES events(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('low','medium','high','critical')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
CREATE INDEX notifications_user_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

-- The delivery log and the outbox in one: a row is written before any send.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    event_id BIGINT REFERENCES events(id) ON DELETE SET NULL,
    notification_type TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('low','medium','high','critical')),
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    group_id BIGINT REFERENCES whatsapp_groups(id) ON DELETE SET NULL,
    channel TEXT NOT NULL CHECK (channel IN ('in_app','whatsapp','whatsapp_group','email','push','sms','voice')),
    provider TEXT,
    provider_account_id BIGINT REFERENCES provider_accounts(id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued','deferred','sending','sent','delivered','read','failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    next_attempt_at BIGINT,
    lease_expires_at BIGINT,
    locked_by TEXT,
    provider_message_id TEXT,
    provider_response TEXT,
    error TEXT,
    cost_rupiah BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT,
    delivered_at BIGINT,
    read_at BIGINT,
    failed_at BIGINT
);
-- The workers' claim: due rows only, so the index stays small.
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status IN ('queued','deferred');
-- (Leases to rescue after a crash are found through deliveries_status_created_idx:
-- a separate index would cost two more index writes per delivery.)
-- Keyset pagination of the log, newest first, alone or under one filter.
CREATE INDEX deliveries_created_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_status_created_idx ON deliveries (status, created_at, id);
CREATE INDEX deliveries_channel_created_idx ON deliveries (channel, created_at, id);
CREATE INDEX deliveries_provider_created_idx ON deliveries (provider, created_at, id);
CREATE INDEX deliveries_type_created_idx ON deliveries (notification_type, created_at, id);
CREATE INDEX deliveries_user_created_idx ON deliveries (user_id, created_at, id) WHERE user_id IS NOT NULL;
CREATE INDEX deliveries_group_created_idx ON deliveries (group_id, created_at, id) WHERE group_id IS NOT NULL;
CREATE INDEX deliveries_event_idx ON deliveries (event_id);
-- Status webhooks find their delivery by the provider's message id (partial:
-- rows are inserted without one, so inserts do not touch this index).
CREATE INDEX deliveries_provider_message_idx ON deliveries (provider, provider_message_id) WHERE provider_message_id IS NOT NULL;

-- One-time codes that prove a user owns a WhatsApp number.
CREATE TABLE phone_verifications (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX phone_verifications_user_idx ON phone_verifications (user_id, created_at);
