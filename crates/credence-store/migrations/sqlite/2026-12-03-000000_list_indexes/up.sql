-- Faster customer lists (docs/performance.md, decision 0018). Keep in step with
-- migrations/postgres.
--
-- `name=ab*&isActive=true`: the count walks the name range in an index; with `is_active` in
-- that index it never has to read the table (176 ms to a few ms on a million customers).
-- The same for references. The old indexes are their leading columns, so nothing that used
-- them loses.
DROP INDEX customers_name_folded;
CREATE INDEX customers_name_folded ON customers (archived_at, name_folded, is_active);
DROP INDEX customers_reference_folded;
CREATE INDEX customers_reference_folded ON customers (archived_at, reference_folded, is_active);

-- Mid-string filters (`name=*abc*`) cannot use a B-tree. A trigram FTS5 table holds the
-- folded name and reference of every live customer (archived ones are left out, like in
-- `customer_search`), so the rows holding a substring are an index lookup. Contentless: the
-- adapter only needs row ids, and the text is already in `customers`. Triggers keep it in step,
-- so no write path can forget it; a contentless table deletes by being given the old values.
-- Trigrams are case-sensitive because both the stored columns and the patterns are folded by
-- the domain already: a phrase then matches exactly where `LIKE '%...%'` does.
CREATE VIRTUAL TABLE customer_text USING fts5(
    name_folded,
    reference_folded,
    content = '',
    tokenize = 'trigram case_sensitive 1'
);
INSERT INTO customer_text (rowid, name_folded, reference_folded)
    SELECT id, name_folded, reference_folded FROM customers WHERE archived_at IS NULL;

CREATE TRIGGER customer_text_insert AFTER INSERT ON customers
WHEN new.archived_at IS NULL BEGIN
    INSERT INTO customer_text (rowid, name_folded, reference_folded)
        VALUES (new.id, new.name_folded, new.reference_folded);
END;

CREATE TRIGGER customer_text_delete AFTER DELETE ON customers
WHEN old.archived_at IS NULL BEGIN
    INSERT INTO customer_text (customer_text, rowid, name_folded, reference_folded)
        VALUES ('delete', old.id, old.name_folded, old.reference_folded);
END;

-- One trigger, so the old entry goes before the new one comes: a contentless table deletes
-- by its tokens, so deleting after inserting would also take out trigrams the two share.
CREATE TRIGGER customer_text_update AFTER UPDATE OF name_folded, reference_folded, archived_at
ON customers BEGIN
    INSERT INTO customer_text (customer_text, rowid, name_folded, reference_folded)
        SELECT 'delete', old.id, old.name_folded, old.reference_folded
        WHERE old.archived_at IS NULL;
    INSERT INTO customer_text (rowid, name_folded, reference_folded)
        SELECT new.id, new.name_folded, new.reference_folded
        WHERE new.archived_at IS NULL;
END;
