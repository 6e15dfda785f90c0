-- Offline passes (issue 13 item 3, DESIGN §8): the communities' access keys and the passes signed with them.

-- A community's P-256 access key. The active key (retire_after NULL) signs; after a rotation the previous key
-- stays published and accepted until retire_after, longer than any pass it signed lives.
CREATE TABLE access_keys (
    -- hex of the kid: the first 8 bytes of SHA-256 of the SubjectPublicKeyInfo DER.
    kid               text PRIMARY KEY,
    community_id      uuid NOT NULL REFERENCES communities (id),
    -- PKCS#8, AES-256-GCM under the personal-data key (context access_keys.private_key:<kid>).
    private_key_enc   text NOT NULL,
    -- The 65-byte uncompressed point.
    public_point      bytea NOT NULL CHECK (length(public_point) = 65),
    created_at        timestamptz NOT NULL DEFAULT now(),
    retire_after      timestamptz
);
CREATE UNIQUE INDEX access_keys_active ON access_keys (community_id) WHERE retire_after IS NULL;

CREATE TABLE passes (
    -- The pass id, the CWT cti (its 16 bytes).
    id                uuid PRIMARY KEY,
    community_id      uuid NOT NULL REFERENCES communities (id),
    account_id        uuid NOT NULL REFERENCES accounts (id),
    kind              text NOT NULL CHECK (kind IN ('resident', 'visitor')),
    kid               text NOT NULL REFERENCES access_keys (kid),
    door_codes        bigint[] NOT NULL,
    uses              integer NOT NULL CHECK (uses >= 0),
    not_before        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    -- Resident passes: the device certificate whose key the pass binds.
    device_serial     text,
    -- Visitor passes: the visitor's name (encrypted, context passes.visitor_name) and the plate. The pass text
    -- follows from cose_sign1 and is not stored.
    visitor_name_enc  text,
    plate             text,
    cose_sign1        bytea NOT NULL,
    revoked_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (not_before < expires_at),
    CHECK ((kind = 'resident') = (device_serial IS NOT NULL)),
    CHECK ((kind = 'visitor') = (visitor_name_enc IS NOT NULL))
);
CREATE INDEX passes_account ON passes (account_id, created_at DESC);
-- Readers sync the revoked passes still within their validity.
CREATE INDEX passes_revoked ON passes (community_id, expires_at) WHERE revoked_at IS NOT NULL;
