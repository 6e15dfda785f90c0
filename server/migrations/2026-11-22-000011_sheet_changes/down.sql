DROP INDEX ballot_sheets_superseded_by;
DROP INDEX ballot_sheets_by_proxy;
DROP INDEX ballot_sheets_own;
DELETE FROM ballot_sheets WHERE superseded_by IS NOT NULL;
CREATE UNIQUE INDEX ballot_sheets_own ON ballot_sheets (meeting_id, account_id) WHERE proxy_id IS NULL;
CREATE UNIQUE INDEX ballot_sheets_by_proxy ON ballot_sheets (meeting_id, proxy_id) WHERE proxy_id IS NOT NULL;
ALTER TABLE ballot_sheets DROP CONSTRAINT ballot_sheets_superseded_together;
ALTER TABLE ballot_sheets DROP COLUMN superseded_at;
ALTER TABLE ballot_sheets DROP COLUMN superseded_by;
