DROP INDEX accounts_available;
