-- One pace per provider account for every instance (twin: migrations/sqlite/0013_account_pace.sql).
--
-- A gateway bans the number behind an account that sends faster than its
-- per-minute rate, however many instances share the database. On
-- PostgreSQL the instances lease sends from this row (GCRA: `tat` is the
-- theoretical arrival time, in ms, of the next send the rate allows; a
-- lease moves it on by one interval per send granted). SQLite has one
-- process, which paces in memory; the table exists there to keep the
-- schemas twins.
CREATE TABLE account_pace (
    account_id BIGINT PRIMARY KEY REFERENCES provider_accounts(id) ON DELETE CASCADE,
    tat DOUBLE PRECISION NOT NULL,
    -- The last lease: how many sends it granted, and when (ms, the
    -- database's clock, which every instance shares).
    granted BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
