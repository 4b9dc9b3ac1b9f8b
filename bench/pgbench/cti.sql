-- Count the year's rows, +1, insert; up to three tries on 23505 (bench/sql/setup.sql).
SELECT bench_cti_insert('x');
