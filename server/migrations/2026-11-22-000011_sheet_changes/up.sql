-- Vote changes (DESIGN §5: "no changes after submission unless the meeting's rules allow it"). A change is a new
-- sheet; the sheet it replaces stays, marked superseded, so receipts and the chain's SheetChanged events can be
-- matched to rows. Only live sheets (superseded_by IS NULL) are one per caster and count.
-- Deferred: one transaction marks the old sheet with the new id before it inserts the new sheet (the partial
-- unique indexes allow only one live sheet at a time).
ALTER TABLE ballot_sheets ADD COLUMN superseded_by uuid REFERENCES ballot_sheets (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ballot_sheets ADD COLUMN superseded_at timestamptz;
ALTER TABLE ballot_sheets ADD CONSTRAINT ballot_sheets_superseded_together
    CHECK ((superseded_by IS NULL) = (superseded_at IS NULL));
DROP INDEX ballot_sheets_own;
DROP INDEX ballot_sheets_by_proxy;
CREATE UNIQUE INDEX ballot_sheets_own ON ballot_sheets (meeting_id, account_id)
    WHERE proxy_id IS NULL AND superseded_by IS NULL;
CREATE UNIQUE INDEX ballot_sheets_by_proxy ON ballot_sheets (meeting_id, proxy_id)
    WHERE proxy_id IS NOT NULL AND superseded_by IS NULL;
-- A sheet is replaced at most once.
CREATE UNIQUE INDEX ballot_sheets_superseded_by ON ballot_sheets (superseded_by) WHERE superseded_by IS NOT NULL;
