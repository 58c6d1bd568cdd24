-- Events, SQLite flavour (keep in step with migrations/postgres): the transactional outbox.
-- Every change that matters to another system inserts its event in the change's own
-- transaction, so a rolled-back change leaves none and a committed one has exactly one.
CREATE TABLE events (
    -- AUTOINCREMENT: an id is never taken again, even after the newest events were removed.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- One writer at a time commits in id order, so the feed's order is the ids' alone; the
    -- column exists for the shared (tx, id) order of both backends.
    tx BIGINT NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    customer_reference TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    object TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (customer_id, sequence)
);
CREATE INDEX events_feed ON events (tx, id);

-- The last sequence number of each customer's events, kept by the trigger below: one writer
-- runs at a time, so the insert reads the last number and the trigger records the new one.
CREATE TABLE event_sequences (
    customer_id INTEGER PRIMARY KEY NOT NULL REFERENCES customers (id),
    last BIGINT NOT NULL
);
CREATE TRIGGER events_sequence AFTER INSERT ON events BEGIN
    UPDATE event_sequences SET last = NEW.sequence WHERE customer_id = NEW.customer_id;
    INSERT OR IGNORE INTO event_sequences (customer_id, last)
    VALUES (NEW.customer_id, NEW.sequence);
END;
