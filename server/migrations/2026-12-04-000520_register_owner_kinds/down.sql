-- Refused while the register holds an owner the old schema cannot (an organisation, a non-PRC document).
ALTER TABLE persons DROP CONSTRAINT persons_id_type_of_kind;
ALTER TABLE persons DROP COLUMN id_type;
ALTER TABLE persons DROP CONSTRAINT persons_kind_check;
ALTER TABLE persons ADD CONSTRAINT persons_kind_check CHECK (kind IN ('natural', 'developer'));
