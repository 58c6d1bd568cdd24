DROP TABLE tasks;
DROP TABLE task_templates;
DROP TABLE product_attributes;
DROP TABLE products;
