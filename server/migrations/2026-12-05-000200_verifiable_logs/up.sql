-- Verifiable logs (DESIGN §12, issue 23 item 5): one append-only RFC 9162 log per community and stream.
-- An append locks the head row (FOR UPDATE), writes the entry, the leaf hash and the subtree hashes it completes
-- (logs::tree), and moves the head; entries and nodes are never rewritten (the triggers below refuse it).
CREATE TABLE log_heads (
    community_id  uuid NOT NULL REFERENCES communities (id),
    log           text NOT NULL CHECK (log IN ('disclosure', 'funds', 'workorders', 'audit')),
    size          bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    PRIMARY KEY (community_id, log)
);

CREATE TABLE log_entries (
    community_id  uuid NOT NULL,
    log           text NOT NULL,
    idx           bigint NOT NULL CHECK (idx >= 0),
    -- the exact bytes that were hashed (canonical JSON)
    entry         bytea NOT NULL,
    appended_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, log, idx),
    FOREIGN KEY (community_id, log) REFERENCES log_heads (community_id, log)
);

-- The hash of every complete aligned subtree: level 0 = leaf hashes; (level, idx) covers leaves
-- idx·2^level .. (idx+1)·2^level. Any proof is assembled from O(log n) of these.
CREATE TABLE log_nodes (
    community_id  uuid NOT NULL,
    log           text NOT NULL,
    level         smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx           bigint NOT NULL CHECK (idx >= 0),
    hash          bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (community_id, log, level, idx),
    FOREIGN KEY (community_id, log) REFERENCES log_heads (community_id, log)
);

-- Signed checkpoints (C2SP signed notes), each anchored on chain through the outbox row it names.
CREATE TABLE log_checkpoints (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL,
    log           text NOT NULL,
    size          bigint NOT NULL CHECK (size > 0),
    root          bytea NOT NULL CHECK (length(root) = 32),
    note          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    outbox_id     bigint REFERENCES chain_outbox (id),
    UNIQUE (community_id, log, size),
    FOREIGN KEY (community_id, log) REFERENCES log_heads (community_id, log)
);

CREATE FUNCTION log_rows_are_never_rewritten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'verifiable log rows are append-only (%)', TG_TABLE_NAME;
END $$;
CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_rows_are_never_rewritten();
CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
    FOR EACH ROW EXECUTE FUNCTION log_rows_are_never_rewritten();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION log_rows_are_never_rewritten();

-- How far a follower has copied a source table into the logs (the `audit` stream follows audit_log.seq).
CREATE TABLE log_feeds (
    feed      text PRIMARY KEY,
    last_seq  bigint NOT NULL DEFAULT 0
);
INSERT INTO log_feeds (feed) VALUES ('audit');

-- Checkpoint anchors go through the outbox, signed by the contract's anchor role.
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize', 'anchor_batch'));
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_signer_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_signer_check
    CHECK (signer IN ('forwarder', 'committee', 'anchor'));
