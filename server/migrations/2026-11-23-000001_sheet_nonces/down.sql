DROP INDEX ballot_sheets_request_nonce;
ALTER TABLE ballot_sheets DROP COLUMN request_nonce;
