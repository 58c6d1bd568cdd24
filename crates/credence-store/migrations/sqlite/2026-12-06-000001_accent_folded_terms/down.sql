-- The terms are computed in Rust: emptied here, they are filled again when this migration is
-- applied again (search finds nothing in between).
DELETE FROM customer_terms;
