DROP INDEX customers_search;
ALTER TABLE customers DROP COLUMN search_vector;
ALTER TABLE customers DROP COLUMN search_text;
