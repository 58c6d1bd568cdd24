-- Customer search from a table of weighted terms, PostgreSQL flavour. Keep in step with
-- migrations/sqlite.
--
-- Each live customer has one row per distinct token of its searched fields, with the token's
-- weight for it (100 in the name, 10 in the reference, 1 elsewhere, added up), computed in
-- Rust (credence_domain::search::weighted_terms) and written by the adapter in the same
-- transaction as the customer; an archived customer has none. `is_active` is copied, and the
-- weight carried in the index, so a search of active customers is an index-only scan of one
-- range per query token: the candidates, their scores and the total, without reading
-- `customers`, whose rows are read for the page alone. The adapter fills the table for
-- existing customers right after this migration, in the same transaction. It replaces the
-- GIN-indexed `tsvector` over `customers.search_text`.
DROP INDEX customers_search;
ALTER TABLE customers DROP COLUMN search_vector;
ALTER TABLE customers DROP COLUMN search_text;

CREATE TABLE customer_terms (
    token TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    weight INTEGER NOT NULL,
    PRIMARY KEY (token, is_active, customer_id) INCLUDE (weight)
);

-- A customer's own terms, replaced on each write.
CREATE INDEX customer_terms_customer ON customer_terms (customer_id);
