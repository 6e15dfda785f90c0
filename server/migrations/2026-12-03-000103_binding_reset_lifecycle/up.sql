-- Binding resets (issue 25, item 3): a reset names the certificate it revokes (one that serves the filing
-- community), expires after 7 days when nobody approves it, can be withdrawn, and blocks only another pending reset
-- of the same account in the same community.
ALTER TABLE binding_resets
    ADD COLUMN cert_serial  text REFERENCES device_certificates (serial),
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN withdrawn_by uuid REFERENCES accounts (id),
    ADD COLUMN withdrawn_at timestamptz,
    -- superseded: the certificate it named was revoked otherwise before anyone approved it.
    ADD COLUMN state        text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'approved', 'withdrawn', 'expired', 'superseded'));

UPDATE binding_resets SET state = 'approved' WHERE approved_at IS NOT NULL;
UPDATE binding_resets SET expires_at = filed_at + interval '7 days';
-- A pending reset filed before this migration resets the binding that is active now.
UPDATE binding_resets r
SET cert_serial = d.serial
FROM device_certificates d
WHERE r.state = 'pending' AND d.account_id = r.account_id AND d.status = 'active';
ALTER TABLE binding_resets ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE binding_resets ADD CHECK ((state = 'approved') = (approved_at IS NOT NULL));
ALTER TABLE binding_resets ADD CHECK ((state = 'withdrawn') = (withdrawn_at IS NOT NULL));

DROP INDEX binding_resets_one_pending;
CREATE UNIQUE INDEX binding_resets_one_pending ON binding_resets (account_id, community_id) WHERE state = 'pending';
