-- Maintenance-fund plans and disbursements (DESIGN §6, issue 23 items 1–2; funds::domain holds the rules).
CREATE TABLE fund_plans (
    id             uuid PRIMARY KEY,
    community_id   uuid NOT NULL REFERENCES communities (id),
    status         text NOT NULL CHECK (status IN ('draft', 'filed', 'in_meeting', 'approved', 'rejected', 'closed')),
    title          text NOT NULL,
    budget_fen     bigint NOT NULL CHECK (budget_fen > 0),
    -- the plan document (funds::domain::plan_document) and its hash: what the proposal and the chain bind
    document       jsonb NOT NULL,
    plan_hash      bytea NOT NULL CHECK (length(plan_hash) = 32),
    filed_by_app   text NOT NULL,
    meeting_id     uuid REFERENCES meetings (id),
    proposal_idx   smallint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    filed_at       timestamptz,
    decided_at     timestamptz,
    CHECK ((meeting_id IS NULL) = (proposal_idx IS NULL)),
    CHECK ((status IN ('draft', 'filed')) = (meeting_id IS NULL)),
    UNIQUE (meeting_id, proposal_idx)
);
CREATE INDEX fund_plans_community ON fund_plans (community_id, created_at);
-- The follower that registers passed plans looks at plans waiting for their meeting.
CREATE INDEX fund_plans_in_meeting ON fund_plans (meeting_id) WHERE status = 'in_meeting';

CREATE TABLE fund_plan_items (
    plan_id      uuid NOT NULL REFERENCES fund_plans (id),
    position     smallint NOT NULL,
    category     text NOT NULL,
    description  text NOT NULL,
    budget_fen   bigint NOT NULL CHECK (budget_fen > 0),
    contractor   text NOT NULL,
    PRIMARY KEY (plan_id, position)
);

CREATE TABLE fund_plan_shares (
    plan_id        uuid NOT NULL REFERENCES fund_plans (id),
    unit_id        uuid NOT NULL REFERENCES units (id),
    area_centi_m2  bigint NOT NULL CHECK (area_centi_m2 >= 0),
    share_fen      bigint NOT NULL CHECK (share_fen >= 0),
    PRIMARY KEY (plan_id, unit_id)
);

-- A plan's content never changes once filed.
CREATE FUNCTION fund_plan_content_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND (NEW.document IS DISTINCT FROM OLD.document OR NEW.plan_hash IS DISTINCT FROM OLD.plan_hash
                                  OR NEW.budget_fen IS DISTINCT FROM OLD.budget_fen OR NEW.title IS DISTINCT FROM OLD.title) THEN
        RAISE EXCEPTION 'a filed fund plan is never edited';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fund_plans_frozen BEFORE UPDATE ON fund_plans FOR EACH ROW EXECUTE FUNCTION fund_plan_content_frozen();

-- The community's rules for fund disbursements: committee approvals each one needs (default 2 when absent).
CREATE TABLE fund_rules (
    community_id        uuid PRIMARY KEY REFERENCES communities (id),
    approvals_required  smallint NOT NULL CHECK (approvals_required BETWEEN 1 AND 20)
);

CREATE TABLE disbursements (
    id                 uuid PRIMARY KEY,
    plan_id            uuid NOT NULL REFERENCES fund_plans (id),
    community_id       uuid NOT NULL REFERENCES communities (id),
    amount_fen         bigint NOT NULL CHECK (amount_fen > 0),
    contractor         text NOT NULL,
    -- invoice and acceptance evidence ({file_name, sha256} lists) and their hash (the chain's evidenceHash)
    invoice            jsonb NOT NULL,
    acceptance         jsonb NOT NULL,
    evidence_hash      bytea NOT NULL,
    status             text NOT NULL CHECK (status IN ('requested', 'approved', 'executed')),
    requested_by_app   text NOT NULL,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    approved_at        timestamptz,
    -- the bank's report
    bank_app           text,
    bank_ref           text,
    executed_on        date,
    counterparty       text,
    reported_at        timestamptz,
    CHECK ((status = 'executed') = (bank_ref IS NOT NULL)),
    UNIQUE (bank_app, bank_ref)
);
CREATE INDEX disbursements_plan ON disbursements (plan_id);

CREATE TABLE disbursement_approvals (
    disbursement_id  uuid NOT NULL REFERENCES disbursements (id),
    account_id       uuid NOT NULL REFERENCES accounts (id),
    device_serial    text NOT NULL,
    request_nonce    text NOT NULL,
    approved_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (disbursement_id, account_id),
    UNIQUE (device_serial, request_nonce)
);

-- Fund plans, approvals and bank reports go to the chain through the outbox, each signed by its contract role.
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_kind_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_kind_check
    CHECK (kind IN ('open_meeting', 'add_proposal', 'cast_sheet', 'record_served_silent', 'finalize', 'anchor_batch',
                    'register_fund_plan', 'approve_disbursement', 'record_disbursement_execution'));
ALTER TABLE chain_outbox DROP CONSTRAINT chain_outbox_signer_check;
ALTER TABLE chain_outbox ADD CONSTRAINT chain_outbox_signer_check
    CHECK (signer IN ('forwarder', 'committee', 'anchor', 'property', 'bank'));
-- One chain write per plan and per disbursement step.
CREATE UNIQUE INDEX chain_outbox_funds ON chain_outbox (kind, subject_id)
    WHERE kind IN ('register_fund_plan', 'approve_disbursement', 'record_disbursement_execution');
