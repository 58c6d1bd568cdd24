DROP INDEX documents_thumbnail_key;
DROP INDEX documents_blob_key;
