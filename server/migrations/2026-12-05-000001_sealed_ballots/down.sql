DROP INDEX chain_outbox_subject;
CREATE UNIQUE INDEX chain_outbox_subject ON chain_outbox (kind, subject_id)
    WHERE kind IN ('cast_sheet', 'open_meeting', 'record_served_silent', 'finalize');
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize'));
ALTER TABLE meetings DROP COLUMN result_sha256;
ALTER TABLE ballot_sheets DROP COLUMN reveal_salt;
