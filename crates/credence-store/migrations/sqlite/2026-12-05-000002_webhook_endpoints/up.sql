-- Webhook endpoints, SQLite flavour (keep in step with migrations/postgres).
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The reseller's customer that owns the endpoint; NULL for an admin's (every event).
    customer_id INTEGER REFERENCES customers (id),
    url TEXT NOT NULL,
    -- The selected types and families, comma-separated; `*` for every event.
    types TEXT NOT NULL,
    description TEXT,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_customer ON webhook_endpoints (customer_id, id);

-- Signing secrets, kept as given: deliveries are signed with them (HMAC). The current secret
-- has no expiry; one replaced by a rotation signs until its expiry.
CREATE TABLE webhook_secrets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id);
