-- A running Idempotency-Key remembers the PostgreSQL backend that holds it: a request keeps its connection from
-- `begin` to `complete`, so once that backend is gone (the process was killed) a retry may take the key over at
-- once instead of waiting for the 60 s staleness window.
ALTER TABLE idempotency_keys ADD COLUMN holder_pid integer;

-- Refunds confirmed by WeChat Pay are ledger entries too: negative amounts that name their refund. A payment's
-- entries stay one per order and book; a refund's one per refund and book.
ALTER TABLE ledger_entries ADD COLUMN refund_id uuid REFERENCES refunds (id);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_order_id_book_key;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_source_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_amount_fen_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_source_check
    CHECK ((source = 'wechatpay' AND refund_id IS NULL AND amount_fen > 0)
        OR (source = 'wechatpay_refund' AND refund_id IS NOT NULL AND amount_fen < 0));
CREATE UNIQUE INDEX ledger_entries_payment ON ledger_entries (order_id, book) WHERE refund_id IS NULL;
CREATE UNIQUE INDEX ledger_entries_refund ON ledger_entries (refund_id, book) WHERE refund_id IS NOT NULL;

-- When WeChat Pay confirmed the refund (notification or query).
ALTER TABLE refunds ADD COLUMN succeeded_at timestamptz;
