-- The orphan sweep (decision 0012). Keep in step with migrations/sqlite.

-- It pages through `blobs` by key: sort keys by their bytes ("C"), as SQLite does, whatever
-- the database's collation.
ALTER TABLE blobs ALTER COLUMN key TYPE TEXT COLLATE "C";

-- It asks, one page of keys at a time, which ones a document names.
CREATE INDEX documents_blob_key ON documents (blob_key);
CREATE INDEX documents_thumbnail_key ON documents (thumbnail_key);
