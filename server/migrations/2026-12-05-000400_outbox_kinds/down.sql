ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize', 'anchor_batch',
                    'register_fund_plan', 'approve_disbursement', 'record_disbursement_execution'));
