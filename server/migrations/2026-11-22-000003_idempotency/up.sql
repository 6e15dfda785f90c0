-- Idempotency keys (DESIGN §9, IETF httpapi Idempotency-Key draft): the first response of a creating request is
-- kept at least 24 h; a retry with the same key and body gets it back, a different body gets 422, a retry while
-- the first is still running gets 409.
CREATE TABLE idempotency_keys (
    scope            text NOT NULL,             -- who: account:<uuid> or app:<id>
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256   bytea NOT NULL,            -- method, path and body
    status           text NOT NULL CHECK (status IN ('running', 'done')),
    response_status  integer,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
