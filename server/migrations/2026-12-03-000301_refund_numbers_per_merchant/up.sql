-- A refund number is unique per sub-merchant, as WeChat Pay keeps it, not platform-wide: one community's
-- property company could otherwise see (409) and take the numbers another one uses. The sub-merchant is the
-- order's; it is copied here so the database enforces the rule.
ALTER TABLE refunds ADD COLUMN sub_mchid text;
UPDATE refunds r SET sub_mchid = o.sub_mchid FROM payment_orders o WHERE o.id = r.order_id;
ALTER TABLE refunds ALTER COLUMN sub_mchid SET NOT NULL;
ALTER TABLE refunds DROP CONSTRAINT refunds_out_refund_no_key;
ALTER TABLE refunds ADD CONSTRAINT refunds_sub_mchid_out_refund_no_key UNIQUE (sub_mchid, out_refund_no);

-- WeChat Pay's error code when it refused the refund request outright (NOT_ENOUGH, PARAM_ERROR, …): the refund
-- is then closed, so it neither counts against the payment nor waits for a confirmation that never comes.
ALTER TABLE refunds ADD COLUMN refused_code text CHECK (refused_code IS NULL OR status = 'closed');
