-- Customer search from a table of weighted terms, SQLite flavour. Keep in step with
-- migrations/postgres.
--
-- Each live customer has one row per distinct token of its searched fields, with the token's
-- weight for it (100 in the name, 10 in the reference, 1 elsewhere, added up), computed in
-- Rust (credence_domain::search::weighted_terms) and written by the adapter in the same
-- transaction as the customer; an archived customer has none. `is_active` is copied so a
-- search of active customers reads this table alone: the candidates, their scores and the
-- total come from one index range per query token, and only the page's rows are read from
-- `customers`. The adapter fills the table for existing customers right after this migration,
-- in the same transaction. It replaces the FTS5 index over `customers.search_text`.
DROP TRIGGER customer_search_update;
DROP TRIGGER customer_search_delete;
DROP TRIGGER customer_search_insert;
DROP TABLE customer_search;
ALTER TABLE customers DROP COLUMN search_text;

CREATE TABLE customer_terms (
    token TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    weight INTEGER NOT NULL,
    PRIMARY KEY (token, is_active, customer_id)
) WITHOUT ROWID;

-- A customer's own terms, replaced on each write.
CREATE INDEX customer_terms_customer ON customer_terms (customer_id);
