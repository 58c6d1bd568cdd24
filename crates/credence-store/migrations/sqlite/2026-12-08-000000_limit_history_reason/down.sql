ALTER TABLE credit_limit_history DROP COLUMN approved_by;
ALTER TABLE credit_limit_history DROP COLUMN reason;
