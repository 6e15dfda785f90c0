ALTER TABLE refunds DROP COLUMN refused_code;
ALTER TABLE refunds DROP CONSTRAINT refunds_sub_mchid_out_refund_no_key;
ALTER TABLE refunds ADD CONSTRAINT refunds_out_refund_no_key UNIQUE (out_refund_no);
ALTER TABLE refunds DROP COLUMN sub_mchid;
