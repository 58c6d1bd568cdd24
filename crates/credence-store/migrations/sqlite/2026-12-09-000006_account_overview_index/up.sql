-- Accounts across customers, sorted by available credit (the expression the store writes).
CREATE INDEX accounts_available ON accounts ((balance + credit_limit - reserved), customer_id);
