-- Webhook deliveries, SQLite flavour (keep in step with migrations/postgres).
-- One row per attempt to post an event to an endpoint: `pending` until made, then
-- `succeeded` or `failed`; a failed attempt that is retried names when (`next_attempt_at`),
-- and the retry is a new pending row. The rows are the queue and the delivery log at once.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    event_id INTEGER NOT NULL REFERENCES events (id),
    -- The event's customer and sequence: an endpoint gets each customer's events in order.
    customer_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    -- A pending attempt is made once due, by the dispatcher holding its lease; `claims`
    -- counts the leases taken, so a dispatcher whose lease lapsed cannot record its outcome.
    due_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    claims INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    error TEXT,
    duration_ms INTEGER,
    attempted_at TIMESTAMP,
    next_attempt_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_turn ON webhook_deliveries (endpoint_id, customer_id, sequence)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- How far in the feed's order (tx, id) events have been queued for delivery. One row,
-- written by the dispatcher queueing (one writer at a time).
CREATE TABLE webhook_queue_position (
    id INTEGER PRIMARY KEY NOT NULL,
    last_tx INTEGER NOT NULL,
    last_id INTEGER NOT NULL
);
-- Events written before deliveries existed are not delivered.
INSERT INTO webhook_queue_position (id, last_tx, last_id)
    SELECT 1, COALESCE(MAX(tx), 0), COALESCE(MAX(id), 0) FROM events;
