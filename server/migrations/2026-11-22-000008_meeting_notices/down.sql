DROP TABLE meeting_notices;
