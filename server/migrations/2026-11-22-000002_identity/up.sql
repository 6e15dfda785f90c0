-- Identity (DESIGN §4, §9, §11): WeChat accounts, consents, the four-factor enrollment, device certificates, PINs,
-- support resets and organisation apps. Personal data is encrypted (text ciphertexts with a key id) and found
-- through hex HMAC blind indexes.

ALTER TABLE accounts
    ADD COLUMN wx_openid_hash  text UNIQUE,   -- hex HMAC(openid_key, openid): also the certificate's urn:linli:wx:
    ADD COLUMN wx_openid_enc   text,          -- encrypted openid, to address subscribe messages
    ADD COLUMN wx_unionid_hash text,
    ADD COLUMN last_login_at   timestamptz;

CREATE TABLE consents (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES accounts (id),
    enrollment_id  uuid,
    kind           text NOT NULL CHECK (kind IN ('enrollment', 'face')),
    version        text NOT NULL,
    given_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_account ON consents (account_id);

CREATE TABLE enrollments (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    community_id    uuid NOT NULL REFERENCES communities (id),
    unit_id         uuid NOT NULL REFERENCES units (id),
    real_name_enc   text NOT NULL,
    id_number_enc   text NOT NULL,
    id_number_bidx  text NOT NULL,
    -- The register person confirmed by the registry factor.
    person_id       uuid REFERENCES persons (id),
    status          text NOT NULL CHECK (status IN ('open', 'completed', 'expired', 'cancelled')),
    -- linli_identity::enrollment::Enrollment, the whole rule state.
    state           jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX enrollments_one_open_per_unit ON enrollments (account_id, unit_id) WHERE status IN ('open', 'completed');
CREATE INDEX enrollments_open_created ON enrollments (created_at) WHERE status = 'open';

CREATE TABLE enrollment_events (
    seq            bigserial PRIMARY KEY,
    enrollment_id  uuid NOT NULL REFERENCES enrollments (id),
    at             timestamptz NOT NULL,
    from_status    text NOT NULL,
    to_status      text NOT NULL,
    event          jsonb NOT NULL
);
CREATE INDEX enrollment_events_enrollment ON enrollment_events (enrollment_id);

-- Face images are never stored: only the provider's request id, the score, the decision and the image hash.
CREATE TABLE face_attempts (
    id                   uuid PRIMARY KEY,
    enrollment_id        uuid NOT NULL REFERENCES enrollments (id),
    id_number_bidx       text NOT NULL,
    attempt_day          date NOT NULL,          -- calendar day in Asia/Shanghai
    at                   timestamptz NOT NULL DEFAULT now(),
    provider_request_id  text,
    score                double precision,
    passed               boolean NOT NULL,
    image_sha256         text NOT NULL
);
CREATE INDEX face_attempts_person_day ON face_attempts (id_number_bidx, attempt_day);

CREATE TABLE device_certificates (
    serial         text PRIMARY KEY,             -- 32 lower-case hex
    account_id     uuid NOT NULL REFERENCES accounts (id),
    enrollment_id  uuid NOT NULL REFERENCES enrollments (id),
    public_key     bytea NOT NULL,               -- SEC1 uncompressed P-256 point
    device_hash    text NOT NULL,
    wx_hash        text NOT NULL,
    not_before     timestamptz NOT NULL,
    not_after      timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('active', 'revoked')),
    revoked_at     timestamptz,
    revoke_reason  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX device_certificates_one_active ON device_certificates (account_id) WHERE status = 'active';

-- PIN hash and lockout, durable here (Redis may only cache): DESIGN §4.
CREATE TABLE pins (
    account_id            uuid PRIMARY KEY REFERENCES accounts (id),
    phc                   text NOT NULL,
    set_at                timestamptz NOT NULL DEFAULT now(),
    consecutive_failures  integer NOT NULL DEFAULT 0,
    locks_imposed         integer NOT NULL DEFAULT 0,
    locked_until          timestamptz
);

-- A device-binding reset: filed by one support staff member, approved by another.
CREATE TABLE binding_resets (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    community_id uuid NOT NULL REFERENCES communities (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    ticket_id    text NOT NULL CHECK (length(ticket_id) BETWEEN 1 AND 100),
    filed_by     uuid NOT NULL REFERENCES accounts (id),
    filed_at     timestamptz NOT NULL DEFAULT now(),
    approved_by  uuid REFERENCES accounts (id),
    approved_at  timestamptz,
    CHECK (approved_by IS NULL OR approved_by <> filed_by)
);
CREATE UNIQUE INDEX binding_resets_one_pending ON binding_resets (account_id) WHERE approved_at IS NULL;

-- Organisation apps (DESIGN §9). The secret is needed to verify HMACs, so it is sealed (encrypted) rather than
-- hashed; its SHA-256 is kept to identify it in audits without revealing it.
CREATE TABLE org_apps (
    id             text PRIMARY KEY,
    org_name       text NOT NULL CHECK (length(org_name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('property', 'bank', 'bureau', 'parking_system', 'door_gateway')),
    secret_sealed  text NOT NULL,
    secret_sha256  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

CREATE TABLE org_app_communities (
    app_id        text NOT NULL REFERENCES org_apps (id),
    community_id  uuid NOT NULL REFERENCES communities (id),
    PRIMARY KEY (app_id, community_id)
);
