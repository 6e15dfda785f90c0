-- Issue 14 item 2: vehicles registered by a unit's residents. A plate is live on one unit of a community at a
-- time; a removed registration is kept (removed_at) for the gate decisions and access logs that name it.
CREATE TABLE vehicles (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL REFERENCES communities (id),
    unit_id       uuid NOT NULL REFERENCES units (id),
    plate         text NOT NULL CHECK (char_length(plate) BETWEEN 7 AND 8),
    plate_color   text NOT NULL CHECK (plate_color IN ('blue', 'yellow', 'green', 'yellow_green', 'white', 'black')),
    plate_kind    text NOT NULL,
    registered_by uuid NOT NULL REFERENCES accounts (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    removed_at    timestamptz,
    removed_by    uuid REFERENCES accounts (id)
);
CREATE UNIQUE INDEX vehicles_live_plate ON vehicles (community_id, plate) WHERE removed_at IS NULL;
CREATE INDEX vehicles_live_unit ON vehicles (unit_id) WHERE removed_at IS NULL;
