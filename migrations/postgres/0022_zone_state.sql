-- Work zones are managed on their page: an inactive zone keeps the people,
-- groups and rules that have it but is offered for nothing new (twin:
-- migrations/sqlite/0022_zone_state.sql).
ALTER TABLE work_zones ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE work_zones ADD COLUMN updated_at BIGINT;
