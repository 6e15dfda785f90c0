-- Owners' meetings (DESIGN §5) and the chain outbox (DESIGN §7).

CREATE TABLE meetings (
    id                              uuid PRIMARY KEY,
    community_id                    uuid NOT NULL REFERENCES communities (id),
    -- bytes32 id on chain: 16 zero bytes || the uuid's 16 bytes.
    chain_meeting_id                bytea NOT NULL UNIQUE CHECK (length(chain_meeting_id) = 32),
    title                           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    status                          text NOT NULL CHECK (status IN ('draft', 'screening_review', 'committee_review',
                                        'bureau_review', 'published', 'open', 'closed', 'finalized', 'rejected')),
    -- rule-set flags (frozen at publication)
    silent_counts_as_participating  boolean NOT NULL,
    silent_follows_majority         boolean NOT NULL,
    vote_change_allowed             boolean NOT NULL,
    count_parking_spaces            boolean NOT NULL,
    bureau_review_required          boolean NOT NULL,
    notice_days                     integer NOT NULL CHECK (notice_days BETWEEN 0 AND 90),
    voting_starts_at                timestamptz NOT NULL,
    voting_ends_at                  timestamptz NOT NULL CHECK (voting_ends_at > voting_starts_at),
    created_by                      uuid NOT NULL REFERENCES accounts (id),
    created_at                      timestamptz NOT NULL DEFAULT now(),
    -- automatic screening: matched sensitive terms (empty = clean)
    screening_terms                 jsonb NOT NULL DEFAULT '[]',
    published_at                    timestamptz,
    -- the frozen roll
    roll_frozen_at                  timestamptz,
    roll_hash                       bytea,
    roll_area_centi_m2              bigint,
    roll_heads                      bigint,
    -- the result
    finalized_at                    timestamptz,
    result                          jsonb,
    result_signature                text,
    result_mismatch                 boolean NOT NULL DEFAULT false
);
CREATE INDEX meetings_community ON meetings (community_id);

CREATE TABLE meeting_proposals (
    meeting_id    uuid NOT NULL REFERENCES meetings (id),
    idx           smallint NOT NULL CHECK (idx BETWEEN 0 AND 31),
    matter        smallint NOT NULL CHECK (matter BETWEEN 1 AND 9),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    options       jsonb NOT NULL,
    content_hash  bytea NOT NULL CHECK (length(content_hash) = 32),
    PRIMARY KEY (meeting_id, idx)
);

CREATE TABLE meeting_reviews (
    meeting_id  uuid NOT NULL REFERENCES meetings (id),
    stage       text NOT NULL CHECK (stage IN ('screening', 'committee', 'bureau')),
    reviewer    text NOT NULL,
    approved    boolean NOT NULL,
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, stage, reviewer)
);

-- One row per headcount key ("one person" under the SPC rules), frozen when voting opens.
CREATE TABLE roll_entries (
    meeting_id     uuid NOT NULL REFERENCES meetings (id),
    headcount_key  text NOT NULL,
    area_centi_m2  bigint NOT NULL CHECK (area_centi_m2 > 0),
    heads          integer NOT NULL CHECK (heads = 1),
    -- unit numbers and areas only, never names: [{"building": "...", "unit": "...", "area_centi_m2": n}]
    units          jsonb NOT NULL,
    -- the account that votes for this key (first verified owner of the key's persons), if any
    voter_account  uuid REFERENCES accounts (id),
    PRIMARY KEY (meeting_id, headcount_key)
);
CREATE INDEX roll_entries_voter ON roll_entries (meeting_id, voter_account);

CREATE TABLE ballot_sheets (
    id              uuid PRIMARY KEY,
    meeting_id      uuid NOT NULL REFERENCES meetings (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    voter_pseudonym bytea NOT NULL CHECK (length(voter_pseudonym) = 32),
    area_centi_m2   bigint NOT NULL,
    heads           integer NOT NULL,
    choices         jsonb NOT NULL,
    sheet_hash      bytea NOT NULL CHECK (length(sheet_hash) = 32),
    device_serial   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (meeting_id, account_id)
);

CREATE TABLE chain_contracts (
    community_id  uuid PRIMARY KEY REFERENCES communities (id),
    address       text NOT NULL,
    deploy_tx     text,
    deployed_at   timestamptz NOT NULL DEFAULT now()
);

-- Every chain write (DESIGN §7). Drained in id order per community; signed bytes are stored before sending.
CREATE TABLE chain_outbox (
    id               bigserial PRIMARY KEY,
    community_id     uuid NOT NULL REFERENCES communities (id),
    kind             text NOT NULL CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'finalize')),
    -- the meeting or the sheet this row is about
    subject_id       uuid NOT NULL,
    signer           text NOT NULL CHECK (signer IN ('forwarder', 'committee')),
    call_data        bytea NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'done', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    nonce            text,
    block_limit      bigint,
    signed_bytes     bytea,
    tx_hash          bytea,
    -- hashes of earlier signings that expired (re-signed with a new nonce)
    previous_hashes  jsonb NOT NULL DEFAULT '[]',
    block_number     bigint,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    done_at          timestamptz
);
CREATE INDEX chain_outbox_open ON chain_outbox (community_id, id) WHERE status IN ('pending', 'sent');
CREATE UNIQUE INDEX chain_outbox_subject ON chain_outbox (kind, subject_id) WHERE kind IN ('cast_sheet', 'open_meeting', 'finalize');

-- A published meeting's text, rule-set and roll never change (DESIGN §5).
CREATE FUNCTION governance_frozen_meeting() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('published', 'open', 'closed', 'finalized') AND (
        NEW.title IS DISTINCT FROM OLD.title OR NEW.community_id IS DISTINCT FROM OLD.community_id
        OR NEW.silent_counts_as_participating IS DISTINCT FROM OLD.silent_counts_as_participating
        OR NEW.silent_follows_majority IS DISTINCT FROM OLD.silent_follows_majority
        OR NEW.vote_change_allowed IS DISTINCT FROM OLD.vote_change_allowed
        OR NEW.count_parking_spaces IS DISTINCT FROM OLD.count_parking_spaces
        OR NEW.notice_days IS DISTINCT FROM OLD.notice_days
        OR NEW.voting_starts_at IS DISTINCT FROM OLD.voting_starts_at
        OR NEW.voting_ends_at IS DISTINCT FROM OLD.voting_ends_at
        OR NEW.published_at IS DISTINCT FROM OLD.published_at
        OR (OLD.roll_hash IS NOT NULL AND NEW.roll_hash IS DISTINCT FROM OLD.roll_hash)
        OR (OLD.roll_hash IS NOT NULL AND NEW.roll_area_centi_m2 IS DISTINCT FROM OLD.roll_area_centi_m2)
        OR (OLD.roll_hash IS NOT NULL AND NEW.roll_heads IS DISTINCT FROM OLD.roll_heads)
    ) THEN
        RAISE EXCEPTION 'meeting % is published and cannot change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER meetings_frozen BEFORE UPDATE ON meetings FOR EACH ROW EXECUTE FUNCTION governance_frozen_meeting();

CREATE FUNCTION governance_frozen_children() RETURNS trigger AS $$
DECLARE
    s text;
BEGIN
    SELECT status INTO s FROM meetings WHERE id = COALESCE(NEW.meeting_id, OLD.meeting_id);
    IF TG_TABLE_NAME = 'roll_entries' AND TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'roll entries never change' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_TABLE_NAME = 'meeting_proposals' AND s IN ('published', 'open', 'closed', 'finalized') THEN
        RAISE EXCEPTION 'proposals of a published meeting never change' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER meeting_proposals_frozen BEFORE INSERT OR UPDATE OR DELETE ON meeting_proposals
    FOR EACH ROW EXECUTE FUNCTION governance_frozen_children();
CREATE TRIGGER roll_entries_frozen BEFORE INSERT OR UPDATE OR DELETE ON roll_entries
    FOR EACH ROW EXECUTE FUNCTION governance_frozen_children();
