-- The attempts dropped were never sent and are not to be: nothing to restore.
SELECT 1;
