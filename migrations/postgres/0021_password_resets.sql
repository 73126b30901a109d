-- One-time set-password links: a new person's first, or one an admin sends
-- after a forgotten password. Only the token's hash is kept; a link works
-- once and for a day (twin: migrations/sqlite/0021_password_resets.sql).
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
