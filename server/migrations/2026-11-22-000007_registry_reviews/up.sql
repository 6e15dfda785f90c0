-- Manual registry reviews (DESIGN §4 factor 2): when the registry cannot confirm an owner, the owner asks for a
-- review; one support staff member uploads the property-certificate scan and proposes a verdict; a second one
-- confirms it (it takes effect) or returns it (a new proposal is needed). The scan is encrypted (AES-256-GCM,
-- associated data bound to the row) and never logged. The enrollment's rule state holds the same facts; this
-- table holds the scan, the staff members and the times, and lets staff find open reviews.
CREATE TABLE registry_reviews (
    id                      uuid PRIMARY KEY,
    enrollment_id           uuid NOT NULL REFERENCES enrollments (id),
    community_id            uuid NOT NULL REFERENCES communities (id),
    account_id              uuid NOT NULL REFERENCES accounts (id),
    requested_at            timestamptz NOT NULL DEFAULT now(),
    status                  text NOT NULL CHECK (status IN ('requested', 'proposed', 'approved', 'rejected')),
    scan_enc                text,
    scan_kind               text CHECK (scan_kind IN ('jpeg', 'png', 'pdf')),
    scan_sha256             text,
    proposed_by             uuid REFERENCES accounts (id),
    proposal                text CHECK (proposal IN ('approve', 'reject')),
    proposed_area_centi_m2  bigint CHECK (proposed_area_centi_m2 > 0),
    proposal_note           text CHECK (length(proposal_note) <= 1000),
    proposed_at             timestamptz,
    decided_by              uuid REFERENCES accounts (id),
    decided_at              timestamptz,
    CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CHECK (status <> 'proposed' OR (scan_enc IS NOT NULL AND proposed_by IS NOT NULL AND proposal IS NOT NULL))
);
CREATE UNIQUE INDEX registry_reviews_one_open ON registry_reviews (enrollment_id) WHERE status IN ('requested', 'proposed');
CREATE INDEX registry_reviews_open_by_community ON registry_reviews (community_id, requested_at)
    WHERE status IN ('requested', 'proposed');
