DROP TABLE access_events;
DROP TABLE residents;
DROP TABLE doors;
