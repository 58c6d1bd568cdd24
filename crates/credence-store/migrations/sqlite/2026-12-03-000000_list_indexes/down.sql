DROP TRIGGER customer_text_update;
DROP TRIGGER customer_text_delete;
DROP TRIGGER customer_text_insert;
DROP TABLE customer_text;
DROP INDEX customers_reference_folded;
CREATE INDEX customers_reference_folded ON customers (archived_at, reference_folded);
DROP INDEX customers_name_folded;
CREATE INDEX customers_name_folded ON customers (archived_at, name_folded);
