DROP INDEX customer_terms_customer;
CREATE INDEX customer_terms_customer ON customer_terms (customer_id);
