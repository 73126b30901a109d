-- The ticketing system's own ids for the people it syncs (twin:
-- migrations/postgres/0018_user_sync.sql).
--
-- PUT /api/v1/users/{external_id} upserts a person by it; events may name
-- recipients by it (recipients.external_ids). People made on this side
-- have none. Unique where set (NULLs do not collide).
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id_key ON users (external_id);
