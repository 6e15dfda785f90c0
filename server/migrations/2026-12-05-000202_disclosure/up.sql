-- The disclosure feed (issue 23 item 6): each item is the entry `log_index` of the community's disclosure log.
-- Items and their files are never edited: a correction is a new item naming the one it corrects.
CREATE TABLE disclosure_items (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL REFERENCES communities (id),
    category      text NOT NULL,
    title         text NOT NULL,
    period        text,
    body          text NOT NULL,
    -- [{position, file_name, kind, sha256, size_bytes}], as in the log entry
    attachments   jsonb NOT NULL,
    corrects      uuid REFERENCES disclosure_items (id),
    publisher     text NOT NULL,
    published_at  timestamptz NOT NULL,
    log_index     bigint NOT NULL,
    UNIQUE (community_id, log_index)
);
CREATE INDEX disclosure_items_feed ON disclosure_items (community_id, published_at DESC, id DESC);
CREATE INDEX disclosure_items_corrects ON disclosure_items (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE disclosure_files (
    item_id   uuid NOT NULL REFERENCES disclosure_items (id),
    position  smallint NOT NULL,
    bytes     bytea NOT NULL,
    PRIMARY KEY (item_id, position)
);

CREATE TRIGGER disclosure_items_append_only BEFORE UPDATE OR DELETE ON disclosure_items
    FOR EACH ROW EXECUTE FUNCTION log_rows_are_never_rewritten();
CREATE TRIGGER disclosure_files_append_only BEFORE UPDATE OR DELETE ON disclosure_files
    FOR EACH ROW EXECUTE FUNCTION log_rows_are_never_rewritten();
