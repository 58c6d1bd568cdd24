DROP INDEX accounts_live_utilization;
DROP INDEX accounts_live_available;
CREATE INDEX accounts_available ON accounts ((balance + credit_limit - reserved), customer_id);
ALTER TABLE accounts DROP COLUMN live;
