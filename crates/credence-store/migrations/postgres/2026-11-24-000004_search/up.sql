-- Customer full-text search (seed 004), PostgreSQL flavour. Keep in step with
-- migrations/sqlite.
--
-- The adapter writes `search_text`: the distinct search tokens of a live customer, computed in
-- Rust (credence_domain::search::search_text) so both backends index the same tokens; an
-- archived customer's is empty. A generated `tsvector` over it (the `simple` configuration:
-- no stemming, no stop words) with a GIN index finds candidates; the ranking is computed in
-- Rust, the same on both backends.
ALTER TABLE customers ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Existing customers: their texts split on non-alphanumerics and folded, as the adapter does.
UPDATE customers SET search_text = btrim(regexp_replace(lower(concat_ws(' ',
    name, reference, reference2, email, phone, mobile, billing_city, city, billing_address,
    address, billing_postal_code, postal_code, tax_number, company_registration_number,
    barcode)), '[^[:alnum:]]+', ' ', 'g'))
WHERE archived_at IS NULL;

ALTER TABLE customers ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;

CREATE INDEX customers_search ON customers USING GIN (search_vector);
