-- Search terms fold accents (`Société` is stored as `societe`, and a query for `société` or
-- `societe` finds it). The terms are computed in Rust, so this migration empties the table and
-- the adapter fills it again, with the folding tokenizer, in the same transaction.
DELETE FROM customer_terms;
