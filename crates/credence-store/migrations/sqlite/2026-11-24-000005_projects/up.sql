-- Seed 004's customer projects: a list per customer, written with the customer in its
-- transaction (like contacts); ids are kept across rewrites so clients can address one.
-- AUTOINCREMENT: an id is never reused, even after its project is deleted.
CREATE TABLE customer_projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX customer_projects_customer_id ON customer_projects (customer_id, position);
