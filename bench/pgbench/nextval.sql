-- One single-row insert per transaction; the ID comes from the column DEFAULT.
INSERT INTO c_nextval (payload) VALUES ('x');
