DROP TABLE disclosure_files;
DROP TABLE disclosure_items;
