-- The product catalog, task templates and tasks (SPEC §4), SQLite flavour. Keep in step with
-- migrations/postgres. Localized texts, options and attribute values are JSON text: they
-- are always read and written whole, never queried. Money is BIGINT minor units.

CREATE TABLE products (
    code TEXT PRIMARY KEY NOT NULL,
    titles TEXT NOT NULL,
    descriptions TEXT NOT NULL,
    available BOOLEAN NOT NULL,
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A product's attributes are replaced together with the product.
CREATE TABLE product_attributes (
    product_code TEXT NOT NULL REFERENCES products (code) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('string', 'option', 'integer', 'date')),
    is_mandatory BOOLEAN NOT NULL,
    min_length BIGINT,
    max_length BIGINT,
    titles TEXT NOT NULL,
    helps TEXT NOT NULL,
    options TEXT,
    PRIMARY KEY (product_code, code)
);

CREATE TABLE task_templates (
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    titles TEXT NOT NULL,
    descriptions TEXT NOT NULL,
    product_code TEXT NOT NULL REFERENCES products (code),
    attributes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (customer_id, code)
);
CREATE INDEX task_templates_product_code ON task_templates (product_code);

-- `template_code` has no foreign key: a task outlives its template.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    customer_ref TEXT,
    template_code TEXT NOT NULL,
    product_code TEXT NOT NULL REFERENCES products (code),
    input TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'in_progress', 'finished', 'cancelled')),
    reservation_id INTEGER NOT NULL UNIQUE REFERENCES reservations (id),
    account_id INTEGER NOT NULL REFERENCES accounts (customer_id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tasks_customer_id ON tasks (customer_id, id);
CREATE INDEX tasks_customer_id_state ON tasks (customer_id, state);
CREATE INDEX tasks_customer_id_created_at ON tasks (customer_id, created_at);
