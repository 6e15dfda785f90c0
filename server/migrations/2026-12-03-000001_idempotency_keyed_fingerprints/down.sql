COMMENT ON COLUMN idempotency_keys.request_sha256 IS NULL;
