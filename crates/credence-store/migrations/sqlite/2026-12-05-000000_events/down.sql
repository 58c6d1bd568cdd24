DROP TRIGGER events_sequence;
DROP TABLE event_sequences;
DROP TABLE events;
