DROP INDEX chain_outbox_funds;
DELETE FROM chain_outbox WHERE kind IN ('register_fund_plan', 'approve_disbursement', 'record_disbursement_execution');
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_signer_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_signer_check CHECK (signer IN ('forwarder', 'committee', 'anchor'));
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize', 'anchor_batch'));
DROP TABLE disbursement_approvals;
DROP TABLE disbursements;
DROP TABLE fund_rules;
DROP TABLE fund_plan_shares;
DROP TABLE fund_plan_items;
DROP TABLE fund_plans;
DROP FUNCTION fund_plan_content_frozen();
