-- A manual registry review whose approved area is far from the unit's recorded one needs a third staff member:
-- the second one's confirmation seconds it (status 'seconded'), a third, different one confirms or returns it.
ALTER TABLE registry_reviews
    ADD COLUMN third_review_required boolean NOT NULL DEFAULT false,
    ADD COLUMN seconded_by uuid REFERENCES accounts (id),
    ADD COLUMN seconded_at timestamptz,
    ADD CONSTRAINT registry_reviews_three_people CHECK (
        seconded_by IS NULL OR (seconded_by <> proposed_by AND (decided_by IS NULL OR decided_by <> seconded_by))
    ),
    ADD CONSTRAINT registry_reviews_seconded_has_proposal CHECK (
        status <> 'seconded' OR (scan_enc IS NOT NULL AND proposed_by IS NOT NULL AND seconded_by IS NOT NULL)
    );
ALTER TABLE registry_reviews DROP CONSTRAINT registry_reviews_status_check;
ALTER TABLE registry_reviews ADD CONSTRAINT registry_reviews_status_check
    CHECK (status IN ('requested', 'proposed', 'seconded', 'approved', 'rejected'));
DROP INDEX registry_reviews_one_open;
CREATE UNIQUE INDEX registry_reviews_one_open ON registry_reviews (enrollment_id) WHERE status IN ('requested', 'proposed', 'seconded');
DROP INDEX registry_reviews_open_by_community;
CREATE INDEX registry_reviews_open_by_community ON registry_reviews (community_id, requested_at)
    WHERE status IN ('requested', 'proposed', 'seconded');
-- "The same person" of a review: every account enrolled with the reviewed ID number.
CREATE INDEX enrollments_id_number_bidx ON enrollments (id_number_bidx);
