-- Accounts across customers (`/accounts`) at a million accounts. An account whose customer is
-- archived stays (its ledger is history) but leaves every list, so the account carries that
-- fact itself: counting and filtering then read one index of the accounts instead of joining
-- every account to its customer. The archive sets `live` in the transaction that archives.
ALTER TABLE accounts ADD COLUMN live BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE accounts SET live = FALSE
WHERE customer_id IN (SELECT id FROM customers WHERE archived_at IS NOT NULL);

-- Each index leads with `live`, so the list of live accounts is a range of it. The amounts are
-- included so a count that tests them exactly is an index-only scan: PostgreSQL does not read
-- an expression's columns back out of the expression. The expressions are the store's, to the
-- letter.
DROP INDEX accounts_available;
CREATE INDEX accounts_live_available ON accounts
    (live, (balance + credit_limit - reserved), customer_id) INCLUDE (balance, credit_limit, reserved);
-- The share of the limit in use as a number that sorts: an account without a limit that uses
-- credit is above every share, one that holds more than it reserved below every share.
CREATE INDEX accounts_live_utilization ON accounts
    (live, (CASE WHEN credit_limit > 0
                 THEN CAST(reserved - balance AS DOUBLE PRECISION) / credit_limit
                 WHEN reserved > balance THEN CAST(1e308 AS DOUBLE PRECISION)
                 WHEN reserved < balance THEN CAST(-1e308 AS DOUBLE PRECISION)
                 ELSE CAST(0 AS DOUBLE PRECISION) END),
     customer_id) INCLUDE (balance, credit_limit, reserved);
