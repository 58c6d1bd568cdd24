DROP TABLE customer_terms;

-- The FTS5 index of the search migration, over the customers' raw texts (as that migration
-- filled it for existing customers).
ALTER TABLE customers ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE customers SET search_text = lower(
    name || ' ' || reference || ' ' || coalesce(reference2, '') || ' ' || coalesce(email, '')
    || ' ' || coalesce(phone, '') || ' ' || coalesce(mobile, '') || ' ' || coalesce(billing_city, '')
    || ' ' || coalesce(city, '') || ' ' || coalesce(billing_address, '') || ' ' || coalesce(address, '')
    || ' ' || coalesce(billing_postal_code, '') || ' ' || coalesce(postal_code, '')
    || ' ' || coalesce(tax_number, '') || ' ' || coalesce(company_registration_number, '')
    || ' ' || coalesce(barcode, ''))
WHERE archived_at IS NULL;
CREATE VIRTUAL TABLE customer_search USING fts5(
    search_text,
    content = 'customers',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO customer_search (customer_search) VALUES ('rebuild');
CREATE TRIGGER customer_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER customer_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customer_search (customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER customer_search_update AFTER UPDATE OF search_text ON customers BEGIN
    INSERT INTO customer_search (customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    INSERT INTO customer_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
