-- Escalation until acknowledged (twin: migrations/postgres/0007_escalation.sql).

-- Policies: master data. notification_type NULL applies to every type; an
-- event takes the policy naming its type before one for every type.
CREATE TABLE escalation_policies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    notification_type TEXT,
    min_priority TEXT NOT NULL DEFAULT 'critical' CHECK (min_priority IN ('low','medium','high','critical')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX escalation_policies_name_key ON escalation_policies (name);

-- A policy's ordered steps. delay_minutes counts from the previous step (the
-- event, for the first). target_zone NULL: the event's work zone.
CREATE TABLE escalation_steps (
    id INTEGER PRIMARY KEY,
    policy_id BIGINT NOT NULL REFERENCES escalation_policies(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    delay_minutes BIGINT NOT NULL CHECK (delay_minutes >= 0),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('user','role','group')),
    target_user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    target_role TEXT CHECK (target_role IN ('admin','manager','supervisor','technician','noc','customer_service')),
    target_zone TEXT REFERENCES work_zones(code),
    target_group_id BIGINT REFERENCES whatsapp_groups(id) ON DELETE CASCADE,
    -- comma-separated channel wire names (in_app, whatsapp, sms, email, voice)
    channels TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX escalation_steps_policy_position_key ON escalation_steps (policy_id, position);

-- One per event under a policy: open until someone acknowledges it. The
-- timer is next_step_at; a step is taken by moving next_step on, fenced on
-- its old value, in the transaction that writes the step's messages, so a
-- restart or a second instance neither loses nor doubles a step.
-- ack_key is random: acknowledgement links name it (signed, with the user).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    policy_id BIGINT REFERENCES escalation_policies(id) ON DELETE SET NULL,
    ack_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open','acknowledged')),
    -- the original message, repeated under each step's header
    message TEXT NOT NULL,
    next_step BIGINT NOT NULL DEFAULT 0,
    next_step_at BIGINT,
    acknowledged_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    acknowledged_at BIGINT,
    ack_channel TEXT CHECK (ack_channel IN ('in_app','link','whatsapp','voice')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX alerts_event_key ON alerts (event_id);
CREATE UNIQUE INDEX alerts_ack_key ON alerts (ack_key);
CREATE INDEX alerts_due_idx ON alerts (next_step_at) WHERE status = 'open';

-- Who was asked: they may acknowledge, and a WhatsApp reply from one of
-- them is matched to their latest open alert.
CREATE TABLE alert_recipients (
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    step BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);
CREATE INDEX alert_recipients_user_idx ON alert_recipients (user_id, alert_id);

-- The step of its event's alert that added a delivery (NULL: the event's
-- own routing).
ALTER TABLE deliveries ADD COLUMN alert_step BIGINT;

-- Server-side secrets made on first start (the acknowledgement links' key).
-- Inserted if absent, so instances starting together agree on one.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
