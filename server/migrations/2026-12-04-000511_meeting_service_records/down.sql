ALTER TABLE meeting_notices DROP COLUMN sent_data;
DROP TABLE meeting_service_records;
DROP FUNCTION meeting_service_records_append_only();
