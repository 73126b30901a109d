-- Scheduled reports (twin: migrations/postgres/0008_reports.sql).

-- A report that goes out at a local time, daily or on one weekday. The timer
-- is next_run_at: a run moves it on, fenced on its old value, in the
-- transaction that writes the report, so a restart neither loses nor
-- repeats a run and several instances send each report once.
CREATE TABLE report_schedules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('daily_summary','weekly_report')),
    -- NULL: daily; 0 = Monday … 6 = Sunday: weekly on that day
    weekday BIGINT CHECK (weekday BETWEEN 0 AND 6),
    minute_of_day BIGINT NOT NULL CHECK (minute_of_day BETWEEN 0 AND 1439),
    time_zone TEXT NOT NULL DEFAULT 'Asia/Jakarta',
    -- the WhatsApp group it goes to (NULL: none)
    group_id BIGINT REFERENCES whatsapp_groups(id) ON DELETE SET NULL,
    -- everyone active with this role gets it by email and in the app (NULL: nobody)
    email_role TEXT CHECK (email_role IN ('admin','manager','supervisor','technician','noc','customer_service')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at BIGINT,
    last_run_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX report_schedules_name_key ON report_schedules (name);
CREATE INDEX report_schedules_due_idx ON report_schedules (next_run_at) WHERE enabled = TRUE;
