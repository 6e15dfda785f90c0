DROP TABLE registry_attempts;
