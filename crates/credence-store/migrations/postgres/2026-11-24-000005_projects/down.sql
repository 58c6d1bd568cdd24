DROP INDEX customer_projects_customer_id;
DROP TABLE customer_projects;
