DROP TABLE log_feeds;
DROP TABLE log_checkpoints;
DROP TABLE log_nodes;
DROP TABLE log_entries;
DROP FUNCTION log_rows_are_never_rewritten();
DROP TABLE log_heads;
DELETE FROM chain_outbox WHERE kind = 'anchor_batch';
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_signer_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_signer_check CHECK (signer IN ('forwarder', 'committee'));
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize'));
