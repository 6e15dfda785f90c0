DROP TABLE refunds;
DROP TABLE receipts;
DROP TABLE ledger_entries;
DROP TABLE payment_order_bills;
DROP TABLE payment_orders;
DROP TABLE bills;
DROP TABLE fee_items;
