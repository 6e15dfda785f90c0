-- Issue 24 items 1, 2, 12. A proposal is a yes/no question or an election; its options are the server's
-- (同意, 反对, 弃权 in that order), never the committee's words.
ALTER TABLE meeting_proposals
    ADD COLUMN kind text NOT NULL DEFAULT 'yes_no' CHECK (kind IN ('yes_no', 'election')),
    ADD COLUMN seats smallint NOT NULL DEFAULT 0,
    ADD COLUMN candidates jsonb NOT NULL DEFAULT '[]',
    ADD CONSTRAINT meeting_proposals_seats CHECK (
        (kind = 'yes_no' AND seats = 0 AND candidates = '[]')
        OR (kind = 'election' AND seats >= 1 AND seats <= jsonb_array_length(candidates))
    );

-- Drafts not yet published get the server's labels: their committee-written options meant nothing to the tally
-- but option 0 = yes, which is exactly the defect. Meetings past publication keep the text owners were sent.
UPDATE meeting_proposals p SET options = '["同意", "反对", "弃权"]'
FROM meetings m
WHERE m.id = p.meeting_id AND m.status IN ('draft', 'screening_review', 'committee_review', 'bureau_review', 'rejected');

ALTER TABLE meetings
    -- The counting rules printed in the result, frozen with the roll when voting opens.
    ADD COLUMN frozen_rules jsonb,
    -- The served-but-silent weight recorded on chain at close (rule-set meetings), for the agreement check.
    ADD COLUMN served_silent_area_centi_m2 bigint,
    ADD COLUMN served_silent_heads bigint,
    ADD COLUMN served_silent_root bytea;

-- The served-but-silent weight goes on chain at close, once per meeting, before finalize.
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize'));
DROP INDEX chain_outbox_subject;
CREATE UNIQUE INDEX chain_outbox_subject ON chain_outbox (kind, subject_id)
    WHERE kind IN ('cast_sheet', 'open_meeting', 'record_served_silent', 'finalize');
