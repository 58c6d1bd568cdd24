DROP TABLE account_alerts;
ALTER TABLE accounts DROP COLUMN has_alerts;
