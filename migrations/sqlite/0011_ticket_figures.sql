-- Ticket figures the ticketing system posts (twin: migrations/postgres/0011_ticket_figures.sql).

-- One row per local day and work zone ('' = the whole operator), as
-- POST /api/v1/ticket-figures sent it last: a later post for the same day
-- and zone replaces it (the ticketing system corrects its counts). The
-- scheduled reports read them for their period's days.
CREATE TABLE ticket_figures (
    day TEXT NOT NULL,          -- YYYY-MM-DD, the ticketing system's local day
    work_zone TEXT NOT NULL,    -- a work zone code, or '' for all zones
    total BIGINT NOT NULL CHECK (total >= 0),
    completed BIGINT NOT NULL CHECK (completed >= 0),
    in_progress BIGINT NOT NULL CHECK (in_progress >= 0),
    open_tickets BIGINT NOT NULL CHECK (open_tickets >= 0),
    sla_breached BIGINT NOT NULL CHECK (sla_breached >= 0),
    source TEXT NOT NULL,       -- api:{key id}
    received_at BIGINT NOT NULL,
    PRIMARY KEY (day, work_zone)
);
