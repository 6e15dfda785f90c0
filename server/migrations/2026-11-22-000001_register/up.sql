-- The community register (DESIGN §3, §5 "Law"): communities, buildings, units with their areas, the persons who
-- own them and the ownership relation. Areas are integer centi-square-metres; personal data is encrypted by the
-- application (AES-256-GCM with a key id) and found through an HMAC blind index.

CREATE TABLE communities (
    id                       uuid PRIMARY KEY,
    code                     text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9-]{3,32}$'),
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Whether parking spaces registered as exclusive parts count in area and headcount (a per-community rule).
    count_parking_spaces     boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL REFERENCES communities (id),
    code          text NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    UNIQUE (community_id, code)
);

CREATE TABLE units (
    id                       uuid PRIMARY KEY,
    community_id             uuid NOT NULL REFERENCES communities (id),
    building_id              uuid NOT NULL REFERENCES buildings (id),
    number                   text NOT NULL CHECK (length(number) BETWEEN 1 AND 32),
    kind                     text NOT NULL CHECK (kind IN ('residence', 'commercial', 'parking')),
    exclusive_area_centi_m2  bigint NOT NULL CHECK (exclusive_area_centi_m2 > 0),
    area_source              text NOT NULL CHECK (area_source IN ('register', 'surveyed', 'contract')),
    building_area_centi_m2   bigint NOT NULL CHECK (building_area_centi_m2 > 0),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (building_id, number)
);
CREATE INDEX units_community ON units (community_id);

CREATE TABLE persons (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('natural', 'developer')),
    -- "<key id>:<base64(nonce || ciphertext || tag)>", the column name bound as associated data (server/src/pii.rs)
    name_enc         text NOT NULL,
    id_number_enc    text NOT NULL,
    -- hex HMAC-SHA256 blind indexes
    id_number_bidx   text NOT NULL UNIQUE,
    phone_enc        text,
    phone_bidx       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_phone_bidx ON persons (phone_bidx);

CREATE TABLE ownerships (
    unit_id            uuid NOT NULL REFERENCES units (id),
    person_id          uuid NOT NULL REFERENCES persons (id),
    -- Only for units the developer still holds (SPC 法释〔2009〕7号 art. 9).
    developer_holding  text CHECK (developer_holding IN ('unsold', 'undelivered')),
    PRIMARY KEY (unit_id, person_id)
);
CREATE INDEX ownerships_person ON ownerships (person_id);

CREATE TABLE register_imports (
    id             uuid PRIMARY KEY,
    community_id   uuid NOT NULL REFERENCES communities (id),
    file_sha256    bytea NOT NULL,
    units          integer NOT NULL,
    owners         integer NOT NULL,
    changed_rows   integer NOT NULL,
    imported_at    timestamptz NOT NULL DEFAULT now()
);

-- Accounts of the mini-program. The WeChat identity and the enrollment factors are added by the identity
-- migrations; an account is linked to a register person only by a verified enrollment.
CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account_persons (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    person_id     uuid NOT NULL REFERENCES persons (id),
    community_id  uuid NOT NULL REFERENCES communities (id),
    verified_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, person_id)
);

CREATE TABLE role_grants (
    account_id    uuid NOT NULL REFERENCES accounts (id),
    community_id  uuid NOT NULL REFERENCES communities (id),
    role          text NOT NULL CHECK (role IN ('committee', 'support', 'admin')),
    granted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, community_id, role)
);

-- Privileged actions, hash-chained: hash = sha256(prev_hash || canonical json of the row). The head is anchored
-- on the chain with the other streams (DESIGN §3, §7).
CREATE TABLE audit_log (
    seq         bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    subject     text NOT NULL,
    details     jsonb NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL UNIQUE
);
