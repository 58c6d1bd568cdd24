-- Why a credit limit changed, as its changer said, and who approved the change where an
-- approval was needed: the history names both.
ALTER TABLE credit_limit_history ADD COLUMN reason TEXT;
ALTER TABLE credit_limit_history ADD COLUMN approved_by BIGINT;
