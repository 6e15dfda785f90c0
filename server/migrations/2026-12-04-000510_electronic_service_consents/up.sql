-- Consent to electronic service of meeting notices (issue 24 item 5; Civil Procedure Law art. 90 reads electronic
-- service as valid only with the recipient's consent): given or withdrawn by the owner at enrollment and later, per
-- account and community, separate from the enrollment and face consents. Append-only: whether a WeChat delivery
-- served a notice depends on the consent in force at the moment of delivery, so the history is the record.
CREATE TABLE electronic_service_consents (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES accounts (id),
    community_id   uuid NOT NULL REFERENCES communities (id),
    agreed         boolean NOT NULL,
    -- the version of the consent text shown (governance::service::ELECTRONIC_SERVICE_CONSENT_VERSION); NULL for a
    -- withdrawal, which needs no text
    text_version   text CHECK (agreed = (text_version IS NOT NULL)),
    -- enrollment: given with the enrollment's start; owner: changed by the owner afterwards
    source         text NOT NULL CHECK (source IN ('enrollment', 'owner')),
    enrollment_id  uuid REFERENCES enrollments (id),
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX electronic_service_consents_lookup ON electronic_service_consents (community_id, account_id, at);

CREATE FUNCTION electronic_service_consents_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent records never change' USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER electronic_service_consents_append_only BEFORE UPDATE OR DELETE ON electronic_service_consents
    FOR EACH ROW EXECUTE FUNCTION electronic_service_consents_append_only();
