-- Proposal attachments (plans, quotes, contracts): files the committee adds to a proposal while the meeting is a
-- draft. Their sha256 enter the proposal's content hash (`governance::domain::proposal_content_hash`), which goes
-- on chain when voting opens, so an owner holding a file can prove it is the one voted on. They are shown to the
-- community's owners like the proposal text, so they are stored in clear (validated: JPEG/PNG re-encoded, PDF
-- checked for active content), and they never change once the draft is submitted.
CREATE TABLE proposal_attachments (
    id            uuid PRIMARY KEY,
    meeting_id    uuid NOT NULL,
    proposal_idx  smallint NOT NULL,
    -- order within the proposal (the content hash takes the files in this order)
    position      smallint NOT NULL CHECK (position BETWEEN 0 AND 99),
    file_name     text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 120),
    kind          text NOT NULL CHECK (kind IN ('jpeg', 'png', 'pdf')),
    bytes         bytea NOT NULL,
    sha256        bytea NOT NULL CHECK (length(sha256) = 32),
    uploaded_by   uuid NOT NULL REFERENCES accounts (id),
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (meeting_id, proposal_idx) REFERENCES meeting_proposals (meeting_id, idx),
    UNIQUE (meeting_id, proposal_idx, position)
);

CREATE FUNCTION governance_frozen_attachments() RETURNS trigger AS $$
DECLARE
    s text;
BEGIN
    SELECT status INTO s FROM meetings WHERE id = COALESCE(NEW.meeting_id, OLD.meeting_id);
    IF s IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'attachments change only while the meeting is a draft' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER proposal_attachments_frozen BEFORE INSERT OR UPDATE OR DELETE ON proposal_attachments
    FOR EACH ROW EXECUTE FUNCTION governance_frozen_attachments();
