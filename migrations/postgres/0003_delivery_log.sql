-- Delivery log additions (twin: migrations/sqlite/0003_delivery_log.sql).

-- A retry of a failed delivery is a new row pointing at the failed one, which
-- keeps its failure and reason. At most one retry per failed row, so a double
-- click (or two admins) cannot send twice.
ALTER TABLE deliveries ADD COLUMN retry_of BIGINT;
CREATE UNIQUE INDEX deliveries_retry_of_key ON deliveries (retry_of) WHERE retry_of IS NOT NULL;
