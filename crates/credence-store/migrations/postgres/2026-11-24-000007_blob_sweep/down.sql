DROP INDEX documents_thumbnail_key;
DROP INDEX documents_blob_key;
ALTER TABLE blobs ALTER COLUMN key TYPE TEXT COLLATE "default";
