-- A customer's own terms with their weights, in the index that finds them: an update compares
-- the stored terms with the new ones (token, activity and weight) and reads them from this
-- index alone instead of going from each entry to the table for its weight. Keep in step with
-- the other backend's migrations.
DROP INDEX customer_terms_customer;
CREATE INDEX customer_terms_customer ON customer_terms (customer_id, weight);
