DROP INDEX ledger_entries_account_at;
