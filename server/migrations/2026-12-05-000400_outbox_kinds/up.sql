-- The outbox kinds of the sealed ballots (2026-12-05-000001) and of the logs and funds (2026-12-05-000200/000201)
-- together: each of those migrations listed only its own additions.
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_roll_keys', 'add_proposal', 'cast_sheet', 'reveal_sheet', 'record_served_silent',
                    'finalize', 'record_result', 'anchor_batch', 'register_fund_plan', 'approve_disbursement',
                    'record_disbursement_execution'));
