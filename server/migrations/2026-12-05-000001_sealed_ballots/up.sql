-- Issue 24 items 10 and 11: sheets are bound to roll keys on chain and sealed while voting is open.
-- A sheet's salt opens its on-chain commitment after the window (revealSheet); sheets stored before this
-- migration have none (their meetings ran on the previous contract).
ALTER TABLE ballot_sheets ADD COLUMN reveal_salt bytea CHECK (reveal_salt IS NULL OR length(reveal_salt) = 32);

-- The signed result document's SHA-256, anchored on chain with the signing key (recordResult).
ALTER TABLE meetings ADD COLUMN result_sha256 bytea;

ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_roll_keys', 'add_proposal', 'cast_sheet', 'reveal_sheet',
                    'record_served_silent', 'finalize', 'record_result'));
DROP INDEX chain_outbox_subject;
CREATE UNIQUE INDEX chain_outbox_subject ON chain_outbox (kind, subject_id)
    WHERE kind IN ('cast_sheet', 'reveal_sheet', 'open_meeting', 'record_served_silent', 'finalize', 'record_result');
