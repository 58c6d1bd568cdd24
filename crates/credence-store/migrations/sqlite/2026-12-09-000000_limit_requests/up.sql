-- Four-eyes credit-limit requests, SQLite flavour (keep in step with migrations/postgres):
-- a raise of a limit above the configured threshold waits here until another admin approves
-- or rejects it. Amounts are BIGINT minor units of the account currency, which the row
-- keeps. `requested_by` and `decided_by` have no foreign key: requests outlive users, as the
-- limit history does. A decision is one conditional UPDATE ... WHERE status = 'pending'.
CREATE TABLE credit_limit_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    currency TEXT NOT NULL,
    requested_limit BIGINT NOT NULL CHECK (requested_limit >= 0),
    previous_limit BIGINT NOT NULL,
    requested_by BIGINT,
    reason TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'replaced')),
    decided_by BIGINT,
    decided_at TIMESTAMP,
    decision_reason TEXT,
    created_at TIMESTAMP NOT NULL
);
-- At most one pending request per account: a second one replaces the first.
CREATE UNIQUE INDEX credit_limit_requests_one_pending ON credit_limit_requests (account_id)
WHERE status = 'pending';
CREATE INDEX credit_limit_requests_status ON credit_limit_requests (status, id);
CREATE INDEX credit_limit_requests_account_id ON credit_limit_requests (account_id, id);
