DROP INDEX chain_outbox_subject;
CREATE UNIQUE INDEX chain_outbox_subject ON chain_outbox (kind, subject_id) WHERE kind IN ('cast_sheet', 'open_meeting', 'finalize');
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'finalize'));
ALTER TABLE meetings
    DROP COLUMN served_silent_root,
    DROP COLUMN served_silent_heads,
    DROP COLUMN served_silent_area_centi_m2,
    DROP COLUMN frozen_rules;
ALTER TABLE meeting_proposals
    DROP CONSTRAINT meeting_proposals_seats,
    DROP COLUMN candidates,
    DROP COLUMN seats,
    DROP COLUMN kind;
