ALTER TABLE customers ADD COLUMN credit_limit_minor BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET credit_limit_minor = (SELECT credit_limit FROM accounts WHERE customer_id = customers.id)
WHERE id IN (SELECT customer_id FROM accounts);
DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE reservations;
DROP TABLE credit_limit_history;
DROP TABLE accounts;
