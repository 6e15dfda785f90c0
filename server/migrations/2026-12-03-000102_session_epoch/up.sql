-- Account-wide session epoch (issue 25, item 10): every session carries the epoch it was opened in; a binding reset
-- or a device revocation bumps it, which ends every older session at its next request. PostgreSQL holds it; Redis
-- only caches it.
ALTER TABLE accounts ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0 CHECK (session_epoch >= 0);
