DROP TABLE passes;
DROP TABLE access_keys;
