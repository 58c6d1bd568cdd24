-- How many times each customer row has been written: a write names the revision it read and
-- changes the row only while it is still there, so two writes never overwrite each other.
ALTER TABLE customers ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
