-- Analytics rollups (twin: migrations/postgres/0004_analytics.sql).
--
-- Reports read these small tables instead of scanning the delivery log, so
-- they answer in milliseconds over millions of deliveries. A background task
-- recomputes the most recent days every few seconds (statuses still change
-- there) and every day once at start; rows are replaced per day, never added
-- to, so a second instance recomputing the same day changes nothing.
-- day = days since 1970-01-01 in WIB (UTC+7).

CREATE TABLE delivery_stats_daily (
    day BIGINT NOT NULL,
    channel TEXT NOT NULL,
    provider TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    status TEXT NOT NULL,
    deliveries BIGINT NOT NULL,
    cost_rupiah BIGINT NOT NULL,
    PRIMARY KEY (day, channel, provider, notification_type, status)
);

-- Time from sent to delivered / read, counted in buckets (upper bound in
-- seconds), enough for a median to within a bucket.
CREATE TABLE delivery_latency_daily (
    day BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('delivered','read')),
    bucket_seconds BIGINT NOT NULL,
    deliveries BIGINT NOT NULL,
    PRIMARY KEY (day, kind, bucket_seconds)
);

-- Deliveries per group per day (busiest groups).
CREATE TABLE group_stats_daily (
    day BIGINT NOT NULL,
    group_id BIGINT NOT NULL,
    deliveries BIGINT NOT NULL,
    PRIMARY KEY (day, group_id)
);

-- Failure reasons per day.
CREATE TABLE failure_stats_daily (
    day BIGINT NOT NULL,
    reason TEXT NOT NULL,
    deliveries BIGINT NOT NULL,
    PRIMARY KEY (day, reason)
);
