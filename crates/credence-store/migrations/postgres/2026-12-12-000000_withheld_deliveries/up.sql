-- A reseller's webhook endpoint is not sent the events that show its own customer's record
-- (customer.*, document.*): those are the operator's. Attempts queued for such events before
-- that rule are dropped while still pending, so none of them is sent.
DELETE FROM webhook_deliveries
WHERE status = 'pending'
  AND id IN (
    SELECT d.id
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    JOIN events ev ON ev.id = d.event_id
    WHERE e.customer_id = d.customer_id
      AND ev.type IN ('customer.created', 'customer.updated', 'customer.deleted',
                      'document.attached', 'document.detached')
  );
