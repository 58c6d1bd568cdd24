-- Credit accounts, reservations, the append-only ledger and idempotency keys (SPEC §3),
-- SQLite flavour. Keep in step with migrations/postgres. Money is BIGINT minor units of the
-- account currency on both backends, so the admission's conditional UPDATE is exact.

-- One account per customer; the credit limit lives here only from now on.
CREATE TABLE accounts (
    customer_id INTEGER PRIMARY KEY NOT NULL REFERENCES customers (id),
    currency TEXT NOT NULL REFERENCES currencies (code),
    balance BIGINT NOT NULL DEFAULT 0,
    credit_limit BIGINT NOT NULL CHECK (credit_limit >= 0),
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_currency ON accounts (currency);

-- Every change of a limit. `user_id` has no foreign key: the history outlives users.
CREATE TABLE credit_limit_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    old_limit BIGINT,
    new_limit BIGINT NOT NULL,
    user_id INTEGER,
    at TIMESTAMP NOT NULL
);
CREATE INDEX credit_limit_history_account_id ON credit_limit_history (account_id, id);

-- Existing customers keep their limits.
INSERT INTO accounts (customer_id, currency, balance, credit_limit, reserved, updated_at)
SELECT id, currency, 0, credit_limit_minor, 0, last_updated FROM customers;
INSERT INTO credit_limit_history (account_id, old_limit, new_limit, user_id, at)
SELECT customer_id, NULL, credit_limit, NULL, updated_at FROM accounts;
ALTER TABLE customers DROP COLUMN credit_limit_minor;

CREATE TABLE reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    captured BIGINT CHECK (captured >= 0),
    status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    description TEXT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    idempotency TEXT UNIQUE
);
-- The sweeper's and the admission's search for due reservations.
CREATE INDEX reservations_status_expires_at ON reservations (status, expires_at);
CREATE INDEX reservations_account_id ON reservations (account_id, id);
CREATE INDEX reservations_customer_id ON reservations (customer_id);

-- Append-only: the triggers refuse any change to a written entry.
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'charge', 'adjustment', 'reservation', 'capture', 'release', 'expiry')),
    balance_delta BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reserved_after BIGINT NOT NULL,
    description TEXT,
    reservation_id INTEGER REFERENCES reservations (id),
    user_id INTEGER,
    at TIMESTAMP NOT NULL,
    idempotency TEXT UNIQUE
);
CREATE INDEX ledger_entries_account_id ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_reservation_id ON ledger_entries (reservation_id);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- Idempotency-Key records: the primary key decides racing first requests.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    response_status INTEGER,
    response_body TEXT,
    lease_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
