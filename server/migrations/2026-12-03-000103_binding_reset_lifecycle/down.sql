DROP INDEX binding_resets_one_pending;
-- Only one unapproved reset per account survives the old index: the others are dropped.
DELETE FROM binding_resets r
WHERE r.approved_at IS NULL
  AND (r.state <> 'pending' OR EXISTS (
      SELECT 1 FROM binding_resets o
      WHERE o.account_id = r.account_id AND o.state = 'pending' AND o.approved_at IS NULL AND o.id < r.id));
ALTER TABLE binding_resets
    DROP COLUMN state,
    DROP COLUMN withdrawn_at,
    DROP COLUMN withdrawn_by,
    DROP COLUMN expires_at,
    DROP COLUMN cert_serial;
CREATE UNIQUE INDEX binding_resets_one_pending ON binding_resets (account_id) WHERE approved_at IS NULL;
