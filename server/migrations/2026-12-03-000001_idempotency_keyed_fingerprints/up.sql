-- Fingerprints are now HMAC-keyed (the server's blind-index key): the unkeyed SHA-256 fingerprints kept until now
-- give away the PIN of every ballot sheet of the last 48 h to anyone with a copy of this table (10^6 candidates).
-- They are deleted rather than kept: a retry of one of those requests is refused by the effect's own unique key
-- (a sheet's stored nonce, one order per bill) instead of being answered from here.
DELETE FROM idempotency_keys;
COMMENT ON COLUMN idempotency_keys.request_sha256 IS
  'HMAC-SHA256 under the blind-index key of method, path and body (keyed: bodies may hold a PIN)';
