-- Written proxies (DESIGN §5: "a written proxy (uploaded authorisation, staff-reviewed) lets one owner vote for
-- another"). A verified owner of the community (the holder) files the signed authorisation of the owner(s) of a
-- unit (the principal) for one meeting; a support staff member who is not the holder approves or rejects it. When
-- voting opens, an approved proxy makes the holder the voter of the principal's roll key (the roll is frozen
-- then: a proxy still waiting, or approved for a key another proxy already took, lapses). The holder casts a
-- separate sheet for each principal; the scan is encrypted, bound to its row and never logged.
CREATE TABLE meeting_proxies (
    id               uuid PRIMARY KEY,
    meeting_id       uuid NOT NULL REFERENCES meetings (id),
    community_id     uuid NOT NULL REFERENCES communities (id),
    holder_account   uuid NOT NULL REFERENCES accounts (id),
    principal_unit   uuid NOT NULL REFERENCES units (id),
    status           text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'withdrawn', 'lapsed')),
    scan_enc         text NOT NULL,
    scan_kind        text NOT NULL CHECK (scan_kind IN ('jpeg', 'png', 'pdf')),
    scan_sha256      text NOT NULL,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    decided_by       uuid REFERENCES accounts (id),
    decided_at       timestamptz,
    decision_note    text CHECK (length(decision_note) <= 1000),
    CHECK (decided_by IS NULL OR decided_by <> holder_account),
    CHECK (status NOT IN ('approved', 'rejected') OR (decided_by IS NOT NULL AND decided_at IS NOT NULL))
);
-- One live proxy per unit and meeting: a second authorisation for the same unit is refused until the first is
-- rejected or withdrawn.
CREATE UNIQUE INDEX meeting_proxies_one_live ON meeting_proxies (meeting_id, principal_unit)
    WHERE status IN ('submitted', 'approved');
CREATE INDEX meeting_proxies_open_by_community ON meeting_proxies (community_id, submitted_at) WHERE status = 'submitted';
CREATE INDEX meeting_proxies_holder ON meeting_proxies (meeting_id, holder_account);

-- The frozen roll names the proxy through which its voter votes for a key (NULL: the voter is an owner of it).
ALTER TABLE roll_entries ADD COLUMN proxy_id uuid REFERENCES meeting_proxies (id);

-- A holder casts one sheet for their own keys and one per proxy: the sheet says which.
ALTER TABLE ballot_sheets ADD COLUMN proxy_id uuid REFERENCES meeting_proxies (id);
ALTER TABLE ballot_sheets DROP CONSTRAINT ballot_sheets_meeting_id_account_id_key;
CREATE UNIQUE INDEX ballot_sheets_own ON ballot_sheets (meeting_id, account_id) WHERE proxy_id IS NULL;
CREATE UNIQUE INDEX ballot_sheets_by_proxy ON ballot_sheets (meeting_id, proxy_id) WHERE proxy_id IS NOT NULL;
