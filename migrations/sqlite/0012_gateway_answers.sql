-- What gateways said that the next send must respect (twin: migrations/postgres/0012_gateway_answers.sql).

-- A send that timed out may have gone out. The account it went to is kept
-- until the delivery's next attempt, which goes to that account alone (a
-- second account would send a second copy); cleared by any later outcome.
ALTER TABLE deliveries ADD COLUMN unconfirmed_account_id BIGINT;

-- A gateway that answered "too many requests" (HTTP 429 with Retry-After,
-- Meta's 130429 …) gets nothing until this instant (ms). In the database,
-- so every instance sharing it holds the pause.
ALTER TABLE provider_accounts ADD COLUMN paused_until BIGINT;
