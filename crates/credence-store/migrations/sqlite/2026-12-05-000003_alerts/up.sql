-- Credit alerts, SQLite flavour (keep in step with migrations/postgres): thresholds of an
-- account's available credit. A movement that takes `available` from at least a threshold to
-- below it writes one `account.threshold_crossed` event and disarms the threshold; it is armed
-- again once `available` is back at or above it. `has_alerts` lets a movement on an account
-- without alerts skip them: the movement's own UPDATE returns it.
ALTER TABLE accounts ADD COLUMN has_alerts BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE account_alerts (
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    threshold BIGINT NOT NULL,
    armed BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, threshold)
);
