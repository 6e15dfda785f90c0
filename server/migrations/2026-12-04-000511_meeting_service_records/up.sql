-- Service of a meeting's notice outside WeChat, recorded by the committee or support staff (issue 24 item 5): paper
-- handed over, registered mail, or posting in a building (which serves every roll key with a unit there). The
-- evidence (a signed receipt, the postal slip, a photo of the posting) stays off-platform; its SHA-256 binds it.
-- Append-only: a record is evidence.
CREATE TABLE meeting_service_records (
    id               uuid PRIMARY KEY,
    meeting_id       uuid NOT NULL REFERENCES meetings (id),
    channel          text NOT NULL CHECK (channel IN ('paper_hand_delivery', 'registered_mail', 'posting')),
    served_at        timestamptz NOT NULL,
    evidence_sha256  bytea NOT NULL CHECK (length(evidence_sha256) = 32),
    -- what staff named: {"headcount_keys": [...], "units": [{"building", "unit"}]} or {"building": "..."}
    target           jsonb NOT NULL,
    -- the roll keys served, resolved from the register when recorded (as meeting_notices.headcount_keys)
    headcount_keys   jsonb NOT NULL,
    recorded_by      uuid NOT NULL REFERENCES accounts (id),
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meeting_service_records_meeting ON meeting_service_records (meeting_id);

CREATE FUNCTION meeting_service_records_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'service records never change' USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER meeting_service_records_append_only BEFORE UPDATE OR DELETE ON meeting_service_records
    FOR EACH ROW EXECUTE FUNCTION meeting_service_records_append_only();

-- The template data WeChat accepted (title, window, and the consequence of not voting when a silent flag is set):
-- what the owner was told, kept with the proof of delivery.
ALTER TABLE meeting_notices ADD COLUMN sent_data jsonb;
