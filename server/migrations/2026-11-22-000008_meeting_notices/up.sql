-- Proof of service of meeting notices (DESIGN §5): one row per owner account and meeting, written when the
-- meeting is published (the durable send queue) and updated by the notice worker and by the owner's read receipt.
CREATE TABLE meeting_notices (
    meeting_id       uuid NOT NULL REFERENCES meetings (id),
    account_id       uuid NOT NULL REFERENCES accounts (id),
    -- the roll's headcount keys this owner was served for (computed from the register at publication)
    headcount_keys   jsonb NOT NULL,
    -- wechat_subscribe: pushed as a subscribe message; in_app: no push, the owner opened the notice in the app
    channel          text NOT NULL CHECK (channel IN ('wechat_subscribe', 'in_app')),
    -- pending → sending (claimed; committed before the call) → sent | failed | unknown. A row found in `sending`
    -- after a crash becomes `unknown`, never `pending`: WeChat has no idempotency key, so at most one send.
    status           text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'not_pushed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    sent_at          timestamptz,
    -- WeChat's errcode of the last answer (0 = accepted); NULL when WeChat gave no answer
    errcode          bigint,
    last_error       text,
    read_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, account_id)
);
CREATE INDEX meeting_notices_due ON meeting_notices (next_attempt_at) WHERE status = 'pending';
CREATE INDEX meeting_notices_sending ON meeting_notices (claimed_at) WHERE status = 'sending';

-- WeChat's content-security check (msg_sec_check v2) of a submitted meeting: the worst suggestion, the labels and
-- keywords found, or why the check could not be made. NULL = not checked.
ALTER TABLE meetings ADD COLUMN screening_wechat jsonb;
