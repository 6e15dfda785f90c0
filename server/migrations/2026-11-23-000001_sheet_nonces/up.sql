-- A ballot sheet keeps the nonce of its device signature, unique per certificate. Redis refuses a replayed nonce
-- for 600 s, but Redis may lose what it holds (DESIGN §10: that logs people out and nothing else). Without this,
-- a captured sheet request replayed within its ±300 s timestamp window after such a loss, under a new
-- Idempotency-Key (the key is not signed), would be stored again, and where the rules allow vote changes it would
-- replace the voter's later sheet. PostgreSQL refuses it instead. Sheets stored before this column have none.
ALTER TABLE ballot_sheets ADD COLUMN request_nonce text CHECK (request_nonce ~ '^[0-9a-f]{16,64}$');
CREATE UNIQUE INDEX ballot_sheets_request_nonce ON ballot_sheets (device_serial, request_nonce);
