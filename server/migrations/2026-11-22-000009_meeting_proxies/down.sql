DROP INDEX ballot_sheets_by_proxy;
DROP INDEX ballot_sheets_own;
ALTER TABLE ballot_sheets DROP COLUMN proxy_id;
ALTER TABLE ballot_sheets ADD CONSTRAINT ballot_sheets_meeting_id_account_id_key UNIQUE (meeting_id, account_id);
ALTER TABLE roll_entries DROP COLUMN proxy_id;
DROP TABLE meeting_proxies;
