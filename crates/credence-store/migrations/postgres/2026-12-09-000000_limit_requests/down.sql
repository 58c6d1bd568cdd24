DROP TABLE credit_limit_requests;
