-- Co-owners designate the one of them who votes for their unit (issue 24 item 8; governance::co_owners).
-- A designation is per unit and holds for every meeting whose roll freezes while it is in effect, until a
-- co-owner revokes it or a later designation takes its place. It takes effect once every co-owner enrolled at
-- that moment has signed it (a device-signed request with the PIN; one row per signer below).
CREATE TABLE co_owner_designations (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL REFERENCES communities (id),
    unit_id       uuid NOT NULL REFERENCES units (id),
    -- The designee: one of the unit's owners (a register person).
    voter_person  uuid NOT NULL REFERENCES persons (id),
    proposed_by   uuid NOT NULL REFERENCES accounts (id),
    -- pending: waiting for signatures; effective: decides the voter of rolls frozen from effective_at on;
    -- superseded: a later designation took effect, or another was proposed while this one was pending;
    -- revoked: a co-owner revoked it.
    status        text NOT NULL CHECK (status IN ('pending', 'effective', 'superseded', 'revoked')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    effective_at  timestamptz,
    ended_at      timestamptz,
    ended_by      uuid REFERENCES accounts (id),
    CHECK (status <> 'effective' OR effective_at IS NOT NULL),
    CHECK ((status IN ('pending', 'effective')) = (ended_at IS NULL))
);
-- At most one designation waiting and one in effect per unit.
CREATE UNIQUE INDEX co_owner_designations_pending ON co_owner_designations (unit_id) WHERE status = 'pending';
CREATE UNIQUE INDEX co_owner_designations_effective ON co_owner_designations (unit_id) WHERE status = 'effective';
-- The roll freeze reads a community's designations in effect.
CREATE INDEX co_owner_designations_community ON co_owner_designations (community_id) WHERE status = 'effective';

CREATE TABLE co_owner_designation_signatures (
    designation_id  uuid NOT NULL REFERENCES co_owner_designations (id),
    -- The co-owner who signed, and the account and device that signed for them.
    person_id       uuid NOT NULL REFERENCES persons (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    device_serial   text NOT NULL,
    request_nonce   text NOT NULL,
    signed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (designation_id, person_id),
    -- One signed request is one signature, even when Redis forgot its nonce.
    UNIQUE (device_serial, request_nonce)
);
