DROP TABLE webhook_queue_position;
DROP TABLE webhook_deliveries;
