DROP INDEX enrollments_id_number_bidx;
DROP INDEX registry_reviews_open_by_community;
CREATE INDEX registry_reviews_open_by_community ON registry_reviews (community_id, requested_at)
    WHERE status IN ('requested', 'proposed');
DROP INDEX registry_reviews_one_open;
CREATE UNIQUE INDEX registry_reviews_one_open ON registry_reviews (enrollment_id) WHERE status IN ('requested', 'proposed');
-- A seconded review goes back to waiting for its decision.
UPDATE registry_reviews SET status = 'proposed' WHERE status = 'seconded';
ALTER TABLE registry_reviews DROP CONSTRAINT registry_reviews_status_check;
ALTER TABLE registry_reviews ADD CONSTRAINT registry_reviews_status_check
    CHECK (status IN ('requested', 'proposed', 'approved', 'rejected'));
ALTER TABLE registry_reviews
    DROP CONSTRAINT registry_reviews_seconded_has_proposal,
    DROP CONSTRAINT registry_reviews_three_people,
    DROP COLUMN seconded_at,
    DROP COLUMN seconded_by,
    DROP COLUMN third_review_required;
