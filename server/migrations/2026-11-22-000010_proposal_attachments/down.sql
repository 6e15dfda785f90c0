DROP TRIGGER proposal_attachments_frozen ON proposal_attachments;
DROP FUNCTION governance_frozen_attachments();
DROP TABLE proposal_attachments;
