DROP INDEX customers_reference_folded;
CREATE INDEX customers_reference_folded ON customers (reference_folded) WHERE archived_at IS NULL;
DROP INDEX customers_name_folded;
CREATE INDEX customers_name_folded ON customers (name_folded) WHERE archived_at IS NULL;
