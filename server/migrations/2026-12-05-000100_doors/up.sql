-- Door access (issue 13, DESIGN §8): doors, the residents besides verified owners, and the access log.

-- A door of a community, reached through a gateway (a Hikvision ISAPI terminal or controller).
CREATE TABLE doors (
    id                   uuid PRIMARY KEY,
    community_id         uuid NOT NULL REFERENCES communities (id),
    kind                 text NOT NULL CHECK (kind IN ('community_gate', 'building_door', 'garage_barrier')),
    -- The building of a building door; none for gates and barriers.
    building_id          uuid REFERENCES buildings (id),
    -- The short code readers and passes name the door by (u32).
    code                 bigint NOT NULL CHECK (code BETWEEN 0 AND 4294967295),
    name                 text NOT NULL,
    gateway_url          text NOT NULL,
    gateway_username     text NOT NULL,
    -- AES-256-GCM under the personal-data key (context doors.gateway_password).
    gateway_password_enc text NOT NULL,
    -- The door number of the terminal (`/ISAPI/AccessControl/RemoteControl/door/<n>`).
    gateway_door_no      integer NOT NULL CHECK (gateway_door_no BETWEEN 1 AND 256),
    -- xml or json: which ISAPI body the terminal speaks.
    gateway_format       text NOT NULL CHECK (gateway_format IN ('xml', 'json')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, code),
    CHECK ((kind = 'building_door') = (building_id IS NOT NULL))
);

-- Household members and tenants a verified owner (or, for tenants, the property company) registered for a
-- unit. The person logs in with their own WeChat account and is bound on accepting the invitation.
CREATE TABLE residents (
    id                   uuid PRIMARY KEY,
    community_id         uuid NOT NULL REFERENCES communities (id),
    unit_id              uuid NOT NULL REFERENCES units (id),
    kind                 text NOT NULL CHECK (kind IN ('member', 'tenant')),
    name_enc             text NOT NULL,
    phone_enc            text NOT NULL,
    phone_bidx           text NOT NULL,
    relation             text NOT NULL,
    valid_from           timestamptz NOT NULL,
    valid_until          timestamptz NOT NULL,
    -- Who registered them: an owner's account or a property-company app.
    invited_by_account   uuid REFERENCES accounts (id),
    invited_by_app       text REFERENCES org_apps (id),
    -- SHA-256 of the single-use invitation code (the code itself is shown once).
    invitation_sha256    text NOT NULL UNIQUE,
    account_id           uuid REFERENCES accounts (id),
    accepted_at          timestamptz,
    ended_at             timestamptz,
    ended_by_account     uuid REFERENCES accounts (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_from < valid_until),
    CHECK ((invited_by_account IS NULL) <> (invited_by_app IS NULL)),
    CHECK ((account_id IS NULL) = (accepted_at IS NULL))
);
CREATE INDEX residents_unit ON residents (unit_id);
CREATE INDEX residents_account ON residents (account_id) WHERE account_id IS NOT NULL;

-- Every opening, refusal and gateway failure, from the server (online openings) and from readers. The id is the
-- event id (readers choose theirs, so a batch sent twice changes nothing).
CREATE TABLE access_events (
    id                uuid PRIMARY KEY,
    community_id      uuid NOT NULL REFERENCES communities (id),
    door_id           uuid REFERENCES doors (id),
    door_code         bigint NOT NULL,
    -- online (the server sent the command) or reader (a linli-gate reader reported it).
    source            text NOT NULL CHECK (source IN ('online', 'reader')),
    -- attempted: recorded before the gateway call, its outcome not known yet (the server stopped meanwhile);
    -- opened; refused (by the terminal or the reader, see reason); failed (gateway unreachable or timed out).
    outcome           text NOT NULL CHECK (outcome IN ('attempted', 'opened', 'refused', 'failed')),
    reason            text,
    terminal_status   integer,
    account_id        uuid REFERENCES accounts (id),
    unit_id           uuid REFERENCES units (id),
    pass_id           uuid,
    reader_app        text REFERENCES org_apps (id),
    occurred_at       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_events_community ON access_events (community_id, occurred_at DESC, id DESC);
CREATE INDEX access_events_unit ON access_events (unit_id, occurred_at DESC, id DESC) WHERE unit_id IS NOT NULL;
