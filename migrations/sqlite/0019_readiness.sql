-- One row that /readyz writes (twin: migrations/postgres/0019_readiness.sql):
-- a readiness check must go the whole write path, since a database that
-- still reads can refuse every write (a full or failing disk).
CREATE TABLE readiness (
    id BIGINT PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
