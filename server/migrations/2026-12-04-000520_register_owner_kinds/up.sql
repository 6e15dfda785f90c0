-- Owners the register could not hold before (issue 24 item 8): organisations other than the developer (by their
-- unified social credit code), natural persons with a non-PRC identity document (passport, Hong Kong/Macao or
-- Taiwan permit), and more than one developer. `id_number_*` hold the identity's text whatever the document:
-- a resident ID number, a credit code, or `passport:<state>:<number>` / `hk_macao_permit:<number>` /
-- `taiwan_permit:<number>` (the prefix keeps kinds from colliding in the blind index).
ALTER TABLE persons DROP CONSTRAINT persons_kind_check;
ALTER TABLE persons
    ADD CONSTRAINT persons_kind_check CHECK (kind IN ('natural', 'organisation', 'developer')),
    ADD COLUMN id_type text NOT NULL DEFAULT 'resident_id'
        CHECK (id_type IN ('resident_id', 'credit_code', 'passport', 'hk_macao_permit', 'taiwan_permit'));
UPDATE persons SET id_type = 'credit_code' WHERE kind = 'developer';
ALTER TABLE persons
    ADD CONSTRAINT persons_id_type_of_kind CHECK ((kind = 'natural') = (id_type <> 'credit_code'));
