-- A caster's sheets in a meeting (the live-sheet check of every ballot sheet, receipts, verify) and a meeting's
-- sheets (tally, result counts). The partial unique indexes cannot serve the first: no plan, generic or custom, can
-- prove their proxy_id predicates from `proxy_id IS NOT DISTINCT FROM $3`. Without this index every sheet scanned
-- the whole table (35 ms at 200,000 sheets, and growing with every meeting of every community). See the
-- `sheet_queries_use_indexes` test.
CREATE INDEX ballot_sheets_caster ON ballot_sheets (meeting_id, account_id);
