DROP TABLE electronic_service_consents;
DROP FUNCTION electronic_service_consents_append_only();
