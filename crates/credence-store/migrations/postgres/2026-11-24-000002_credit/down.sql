ALTER TABLE customers ADD COLUMN credit_limit_minor BIGINT NOT NULL DEFAULT 0;
UPDATE customers c SET credit_limit_minor = a.credit_limit FROM accounts a WHERE a.customer_id = c.id;
DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP FUNCTION ledger_entries_append_only();
DROP TABLE reservations;
DROP TABLE credit_limit_history;
DROP TABLE accounts;
