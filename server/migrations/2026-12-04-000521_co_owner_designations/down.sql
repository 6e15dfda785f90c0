DROP TABLE co_owner_designation_signatures;
DROP TABLE co_owner_designations;
