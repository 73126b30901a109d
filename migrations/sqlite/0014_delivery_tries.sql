-- Every account's try at a delivery (twin: migrations/postgres/0014_delivery_tries.sql).
--
-- An attempt tries the accounts in failover order; the delivery row keeps
-- only the last answer. Each try is kept here, written in the transaction
-- that records the attempt's outcome, for the delivery's timeline and for
-- analytics (how often each account times out, is paused, fails over).
CREATE TABLE delivery_tries (
    id INTEGER PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    -- The delivery's attempt number it belongs to.
    attempt BIGINT NOT NULL,
    account_id BIGINT REFERENCES provider_accounts(id) ON DELETE SET NULL,
    provider TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    -- The provider's HTTP status, when it answered over HTTP.
    http_status BIGINT,
    outcome TEXT NOT NULL CHECK (outcome IN
        ('accepted','refused','timed_out','rate_limited','account_error','transient')),
    error TEXT,
    -- The provider's answer, clipped.
    response TEXT
);
CREATE INDEX delivery_tries_delivery ON delivery_tries (delivery_id, id);

-- Tries per provider account and outcome, by the WIB day their delivery
-- was created (like the other rollups of 0004_analytics.sql); account 0:
-- an account since deleted.
CREATE TABLE try_stats_daily (
    day BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    tries BIGINT NOT NULL,
    PRIMARY KEY (day, account_id, outcome)
);
