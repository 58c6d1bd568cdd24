-- The orphan sweep (decision 0012). Keep in step with migrations/postgres.

-- It asks, one page of keys at a time, which ones a document names. (SQLite already sorts
-- `blobs.key` by its bytes.)
CREATE INDEX documents_blob_key ON documents (blob_key);
CREATE INDEX documents_thumbnail_key ON documents (thumbnail_key);
