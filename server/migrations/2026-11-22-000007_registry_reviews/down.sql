DROP TABLE registry_reviews;
