-- Fees and payments (DESIGN §8): fee items per community, bills per unit per period, WeChat Pay orders, the
-- ledger entries and e-receipts of settled payments, and refunds. Money in integer fen.

CREATE TABLE fee_items (
    id              uuid PRIMARY KEY,
    community_id    uuid NOT NULL REFERENCES communities (id),
    code            text NOT NULL CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- per_area: rate_fen per m² of exclusive area per month; fixed: rate_fen per unit per month.
    method          text NOT NULL CHECK (method IN ('per_area', 'fixed')),
    rate_fen        bigint NOT NULL CHECK (rate_fen >= 0 AND rate_fen <= 100000000),
    -- Which unit kinds the item is charged to.
    unit_kind       text NOT NULL CHECK (unit_kind IN ('residence', 'commercial', 'parking', 'any')),
    -- Income from common parts (e.g. parking on common spaces) belongs to the owners: public income.
    public_income   boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    UNIQUE (community_id, code)
);

CREATE TABLE bills (
    id              uuid PRIMARY KEY,
    community_id    uuid NOT NULL REFERENCES communities (id),
    unit_id         uuid NOT NULL REFERENCES units (id),
    fee_item_id     uuid NOT NULL REFERENCES fee_items (id),
    period          text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    status          text NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'paid')),
    paid_order_id   uuid,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- One bill per unit, item and period: generating twice creates nothing new.
    UNIQUE (unit_id, fee_item_id, period),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX bills_community_status ON bills (community_id, status);

CREATE TABLE payment_orders (
    id              uuid PRIMARY KEY,
    out_trade_no    text NOT NULL UNIQUE CHECK (out_trade_no ~ '^[0-9A-Za-z_*|-]{6,32}$'),
    community_id    uuid NOT NULL REFERENCES communities (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    sp_mchid        text NOT NULL,
    sub_mchid       text NOT NULL,
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    -- created: stored, WeChat not yet answered; prepaid: prepay_id known; paid; closed.
    status          text NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'prepaid', 'paid', 'closed')),
    prepay_id       text,
    transaction_id  text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    paid_at         timestamptz,
    closed_at       timestamptz
);
CREATE INDEX payment_orders_open ON payment_orders (created_at) WHERE status IN ('created', 'prepaid');

CREATE TABLE payment_order_bills (
    order_id        uuid NOT NULL REFERENCES payment_orders (id),
    bill_id         uuid NOT NULL REFERENCES bills (id),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    -- false once the order is closed; a bill can be in one open (or paid) order only.
    open            boolean NOT NULL DEFAULT true,
    PRIMARY KEY (order_id, bill_id)
);
CREATE UNIQUE INDEX payment_order_bills_one_open ON payment_order_bills (bill_id) WHERE open;

-- Income entries of a community's books: one per settled order and book.
CREATE TABLE ledger_entries (
    id              uuid PRIMARY KEY,
    community_id    uuid NOT NULL REFERENCES communities (id),
    book            text NOT NULL CHECK (book IN ('community_income', 'public_income')),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    source          text NOT NULL CHECK (source IN ('wechatpay')),
    order_id        uuid NOT NULL REFERENCES payment_orders (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, book)
);

CREATE TABLE receipts (
    id                  uuid PRIMARY KEY,
    order_id            uuid NOT NULL UNIQUE REFERENCES payment_orders (id),
    number              text NOT NULL UNIQUE,
    verification_code   text NOT NULL UNIQUE,
    html                text NOT NULL,
    issued_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refunds (
    id              uuid PRIMARY KEY,
    out_refund_no   text NOT NULL UNIQUE CHECK (out_refund_no ~ '^[0-9A-Za-z_*|@-]{1,64}$'),
    order_id        uuid NOT NULL REFERENCES payment_orders (id),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    reason          text NOT NULL CHECK (length(reason) <= 80),
    status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'processing', 'success', 'closed', 'abnormal')),
    refund_id       text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
