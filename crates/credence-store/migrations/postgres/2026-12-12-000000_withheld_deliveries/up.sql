-- A reseller's webhook endpoint is not sent the events that show its own customer's record
-- (customer.*, document.*): those are the operator's. Attempts queued for such events before
-- that rule are dropped while still pending, so none of them is sent; attempts already made
-- stay in the log. Old replicas still running during an upgrade would queue more: stop them
-- before the first new one starts (docs/operations.md, "Upgrading replicas").
DELETE FROM webhook_deliveries
WHERE id IN (
    SELECT d.id
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    JOIN events ev ON ev.id = d.event_id
    WHERE d.status = 'pending'
      AND e.customer_id = d.customer_id
      AND ev.type IN ('customer.created', 'customer.updated', 'customer.deleted',
                      'document.attached', 'document.detached')
);
