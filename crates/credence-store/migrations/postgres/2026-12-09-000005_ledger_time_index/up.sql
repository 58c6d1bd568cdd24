-- Statements and the account at an instant sum an account's entries written before an
-- instant, or between two: an index by account and time reads just those rows.
CREATE INDEX ledger_entries_account_at ON ledger_entries (account_id, at);
