ALTER TABLE meetings DROP COLUMN screening_wechat;
DROP TABLE meeting_notices;
