DROP TRIGGER customer_search_update;
DROP TRIGGER customer_search_delete;
DROP TRIGGER customer_search_insert;
DROP TABLE customer_search;
ALTER TABLE customers DROP COLUMN search_text;
