-- Seed 004's documents and seed 002's logo. Keep in step with migrations/sqlite.

-- Bytes kept under a key (document content, thumbnails, logo renditions): the database
-- `BlobStore`. Writers put the bytes before the row that names them.
CREATE TABLE blobs (
    key TEXT PRIMARY KEY NOT NULL,
    bytes BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A document's metadata: uploaded (`blob_key`, `size`, maybe `thumbnail_key`) or a link
-- (`content_url`, maybe `thumb_url`), never both. `uuid` is TEXT like `customers.uuid`, in
-- the "C" collation so `ORDER BY` sorts it as SQLite does (byte order).
-- `creator_id` has no foreign key: users are deleted (hard), and a document outlives the
-- user who uploaded it.
CREATE TABLE documents (
    uuid TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    description TEXT,
    internal BOOLEAN NOT NULL,
    blob_key TEXT,
    size BIGINT,
    thumbnail_key TEXT,
    content_url TEXT,
    thumb_url TEXT,
    creator_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT documents_one_content CHECK ((blob_key IS NULL) <> (content_url IS NULL)),
    CONSTRAINT documents_stored_size CHECK ((blob_key IS NULL) = (size IS NULL) AND (size IS NULL OR size >= 0)),
    CONSTRAINT documents_stored_thumbnail CHECK (thumbnail_key IS NULL OR blob_key IS NOT NULL),
    CONSTRAINT documents_external_thumbnail CHECK (thumb_url IS NULL OR content_url IS NOT NULL)
);

-- Which customers carry which documents. A customer write attaches (never detaches); the
-- count per customer is checked in the attaching transaction.
CREATE TABLE customer_documents (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    document_uuid TEXT COLLATE "C" NOT NULL REFERENCES documents (uuid),
    attached_at TIMESTAMP NOT NULL,
    PRIMARY KEY (customer_id, document_uuid)
);
CREATE INDEX customer_documents_document_uuid ON customer_documents (document_uuid);

-- The logo's stored name; its renditions are blobs under `logos/{customer uuid}/...`.
ALTER TABLE customers ADD COLUMN logo TEXT;
