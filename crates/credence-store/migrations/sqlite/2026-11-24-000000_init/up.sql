-- Credence schema, SQLite flavour. Keep in step with migrations/postgres (same tables, same
-- columns, same indexes); only types and identity syntax differ.

CREATE TABLE customer_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    reference_folded TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES customer_categories (id)
);
CREATE INDEX customer_categories_reference_folded ON customer_categories (reference_folded);
CREATE INDEX customer_categories_parent_id ON customer_categories (parent_id);
INSERT INTO customer_categories (reference, reference_folded, name, parent_id) VALUES ('root', 'root', 'Root', NULL);

CREATE TABLE customer_segmentations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE payment_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES regions (id)
);
CREATE INDEX regions_parent_id ON regions (parent_id);

CREATE TABLE currencies (
    code TEXT PRIMARY KEY NOT NULL,
    exchange_rate TEXT NOT NULL,
    is_organization BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id)
);
CREATE INDEX users_customer_id ON users (customer_id);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    reference_folded TEXT NOT NULL,
    reference2 TEXT,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    category_id INTEGER NOT NULL REFERENCES customer_categories (id),
    parent_id INTEGER REFERENCES customers (id),
    bill_with_parent BOOLEAN NOT NULL,
    segmentation_id INTEGER REFERENCES customer_segmentations (id),
    email TEXT,
    phone TEXT,
    mobile TEXT,
    fax TEXT,
    comment TEXT,
    barcode TEXT,
    is_same_address BOOLEAN NOT NULL,
    billing_country TEXT,
    billing_city TEXT,
    billing_postal_code TEXT,
    billing_address TEXT,
    billing_latitude REAL,
    billing_longitude REAL,
    country TEXT,
    city TEXT,
    postal_code TEXT,
    address TEXT,
    latitude REAL,
    longitude REAL,
    credit_limit_minor BIGINT NOT NULL,
    is_active BOOLEAN NOT NULL,
    on_hold BOOLEAN NOT NULL,
    on_hold_reason TEXT,
    created_by INTEGER REFERENCES users (id),
    due_date_number BIGINT,
    due_date_type TEXT,
    website TEXT,
    tax_number TEXT,
    company_registration_number TEXT,
    currency TEXT NOT NULL REFERENCES currencies (code),
    customer_risk TEXT,
    customer_risk_color TEXT,
    region_id INTEGER REFERENCES regions (id),
    date_created TIMESTAMP NOT NULL,
    last_updated TIMESTAMP NOT NULL,
    archived_at TIMESTAMP
);
-- A reference is unique among live customers only: archiving frees it.
CREATE UNIQUE INDEX customers_live_reference ON customers (reference) WHERE archived_at IS NULL;
-- List indexes lead with archived_at: every list query asks for `archived_at IS NULL`, which
-- SQLite then answers from the index itself, so counts are covering-index scans. (PostgreSQL
-- uses partial indexes instead; SQLite's planner does not treat those as covering.)
CREATE INDEX customers_date_created ON customers (archived_at, date_created, id);
CREATE INDEX customers_last_updated ON customers (archived_at, last_updated, id);
CREATE INDEX customers_reference_folded ON customers (archived_at, reference_folded);
CREATE INDEX customers_name_folded ON customers (archived_at, name_folded);
CREATE INDEX customers_is_active ON customers (archived_at, is_active);
CREATE INDEX customers_category_id ON customers (category_id);
CREATE INDEX customers_parent_id ON customers (parent_id);
-- Foreign-key lookups when a referenced row is deleted.
CREATE INDEX customers_segmentation_id ON customers (segmentation_id);
CREATE INDEX customers_region_id ON customers (region_id);
CREATE INDEX customers_created_by ON customers (created_by);
CREATE INDEX customers_currency ON customers (currency);

CREATE TABLE customer_payment_types (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    payment_type_id INTEGER NOT NULL REFERENCES payment_types (id),
    PRIMARY KEY (customer_id, position)
);
CREATE INDEX customer_payment_types_payment_type_id ON customer_payment_types (payment_type_id);

CREATE TABLE customer_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT
);
CREATE INDEX customer_contacts_customer_id ON customer_contacts (customer_id, position);
