ALTER TABLE customers DROP COLUMN logo;
DROP INDEX customer_documents_document_uuid;
DROP TABLE customer_documents;
DROP TABLE documents;
DROP TABLE blobs;
