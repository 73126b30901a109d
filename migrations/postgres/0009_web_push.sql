-- Web push (twin: migrations/sqlite/0009_web_push.sql).

-- One row per browser or device a person turned push on in: the push
-- service's endpoint and the browser's keys (RFC 8291 encrypts each message
-- to them). The endpoint names the browser, so it is unique: a browser that
-- subscribes again, or is shared and signed into by someone else, moves its
-- row instead of adding one. A push service answering 404/410 deletes it.
CREATE TABLE push_subscriptions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    -- what the person sees in the device list ("Chrome di Android")
    device TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_success_at BIGINT,
    last_error TEXT
);
CREATE UNIQUE INDEX push_subscriptions_endpoint_key ON push_subscriptions (endpoint);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);
