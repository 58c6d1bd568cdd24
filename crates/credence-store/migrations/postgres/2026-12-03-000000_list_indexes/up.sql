-- Faster customer lists (docs/performance.md, decision 0018). Keep in step with
-- migrations/sqlite.
--
-- `name=ab*&isActive=true`: the count walks the name range in an index; with `is_active` in
-- that index it is an index-only scan instead of one heap visit per match. The same for
-- references. The old indexes are their leading columns, so nothing that used them loses.
-- (Mid-string filters keep the `pg_trgm` GIN indexes of the first migration.)
DROP INDEX customers_name_folded;
CREATE INDEX customers_name_folded ON customers (name_folded, is_active) WHERE archived_at IS NULL;
DROP INDEX customers_reference_folded;
CREATE INDEX customers_reference_folded ON customers (reference_folded, is_active) WHERE archived_at IS NULL;
