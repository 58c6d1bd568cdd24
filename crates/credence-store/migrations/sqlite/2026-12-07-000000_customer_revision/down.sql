ALTER TABLE customers DROP COLUMN revision;
