ALTER TABLE accounts DROP COLUMN person_id_number_bidx;
