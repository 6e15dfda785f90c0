-- Calls to the housing registry, counted per person (blind-indexed ID number) and Asia/Shanghai day like face
-- attempts: each call spends the city's registry quota and answers who owns a unit, so a person gets a few a
-- day, and only after their face factor passed. A call the registry failed to answer is not counted.
CREATE TABLE registry_attempts (
    id               uuid PRIMARY KEY,
    enrollment_id    uuid NOT NULL REFERENCES enrollments (id),
    id_number_bidx   text NOT NULL,
    attempt_day      date NOT NULL,          -- calendar day in Asia/Shanghai
    at               timestamptz NOT NULL DEFAULT now(),
    -- NULL while the call is in flight; then whether it confirmed the owner.
    confirmed        boolean,
    -- The registry's reference of its answer (no personal data).
    reference        text
);
CREATE INDEX registry_attempts_person_day ON registry_attempts (id_number_bidx, attempt_day);
