DROP TABLE customer_terms;

-- The GIN-indexed tsvector of the search migration, filled as that migration filled it.
ALTER TABLE customers ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE customers SET search_text = btrim(regexp_replace(lower(concat_ws(' ',
    name, reference, reference2, email, phone, mobile, billing_city, city, billing_address,
    address, billing_postal_code, postal_code, tax_number, company_registration_number,
    barcode)), '[^[:alnum:]]+', ' ', 'g'))
WHERE archived_at IS NULL;
ALTER TABLE customers ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX customers_search ON customers USING GIN (search_vector);
