-- Periods: which calendar unit restarts a counter, the 1.1 tokens {FY:M} {IYYY} {IY}
-- {IW} {DDD} at their boundaries, reset, time_zone and if_not_exists.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Tokens, as to_char spells them.
SELECT seqguard_format('{FY:4}|{seq}', 1, '', '2025-03-31') AS fy_end,
       seqguard_format('{FY:4}|{seq}', 1, '', '2025-04-01') AS fy_start,
       seqguard_format('{FY:1}|{seq}', 1, '', '2025-03-31') AS fy_january,
       seqguard_format('{FY:12}|{seq}', 1, '', '2025-12-01') AS fy_december;
SELECT d, seqguard_format('{IYYY}-{IY}-W{IW}|{DDD}|{seq}', 0, '', d) AS rendered
  FROM unnest('{2020-12-31,2021-01-01,2021-01-03,2021-01-04,2024-02-29,2024-03-01,2024-12-29,2024-12-30,2024-12-31,2023-12-31}'::date[]) d;
-- Every day of 1999 to 2030 against PostgreSQL's own to_char.
SELECT count(*) AS days, count(*) FILTER (
         WHERE seqguard_format('{IYYY} {IY} {IW} {DDD} {YYYY}{MM}{DD}{seq}', 0, '', d::date)
               <> to_char(d, 'IYYY IY IW DDD YYYYMMDD') || '0') AS differ_from_to_char
  FROM generate_series('1999-01-01'::date, '2030-12-31'::date, '1 day') d;
-- Bad tokens: 22023 with the token and its position.
SELECT pg_temp.err($$ SELECT seqguard_format('X{FY}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('X{FY:13}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('X{FY:0}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{FY:4}{FY:7}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('W{IW:2}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BADFY', 'X{FY:13}-{seq}') $$);

-- The 1.0 duplicate: SINV-{MM}-{seq:4} printed SINV-01-0001 in January 2025 and again
-- in January 2026. Without a year, the month is decoration: one counter forever.
SELECT seqguard_create_series('SINV', 'SINV-{MM}-{seq:4}');
SELECT next_formatted_id('SINV', '', '2025-01-10') AS jan_2025,
       next_formatted_id('SINV', '', '2025-02-01') AS feb_2025,
       next_formatted_id('SINV', '', '2026-01-10') AS jan_2026;
-- Same for a fast series and for a day without its month.
SELECT seqguard_create_series('R', 'R-{MM}-{seq:3}', gapless => false);
SELECT next_formatted_id('R', '', '2026-11-05') AS nov_2026, next_formatted_id('R', '', '2027-11-05') AS nov_2027;
SELECT seqguard_create_series('D', 'D{DD}-{seq}');
SELECT next_formatted_id('D', '', '2026-01-05') AS jan_5, next_formatted_id('D', '', '2026-02-05') AS feb_5;

-- 31 December / 1 January.
SELECT seqguard_create_series('Y', 'Y{YYYY}-{seq}');
SELECT seqguard_create_series('YD', 'YD{YYYY}.{DDD}-{seq}');
SELECT next_formatted_id('Y', '', '2025-12-31') AS y1, next_formatted_id('Y', '', '2026-01-01') AS y2,
       next_formatted_id('YD', '', '2024-12-31') AS yd1, next_formatted_id('YD', '', '2024-12-31') AS yd2,
       next_formatted_id('YD', '', '2025-01-01') AS yd3;

-- A fiscal year starting in April: restarts on 1 April, not on 1 January.
SELECT seqguard_create_series('FY', 'INV/{FY:4}/{seq:4}');
SELECT next_formatted_id('FY', '', '2025-03-31') AS last_of_fy24,
       next_formatted_id('FY', '', '2025-04-01') AS first_of_fy25,
       next_formatted_id('FY', '', '2025-12-31') AS dec_31,
       next_formatted_id('FY', '', '2026-01-01') AS jan_1,
       next_formatted_id('FY', '', '2026-03-31') AS last_of_fy25,
       next_formatted_id('FY', '', '2026-04-01') AS first_of_fy26;
-- With the month printed, monthly; the fiscal year spans two calendar years.
SELECT seqguard_create_series('FYM', '{FY:7}/{MM}-{seq}');
SELECT next_formatted_id('FYM', '', '2025-06-30') AS jun, next_formatted_id('FYM', '', '2025-06-30') AS jun_again,
       next_formatted_id('FYM', '', '2025-07-01') AS jul;

-- ISO weeks: 2020 has 53; 1 January 2021 is still week 53 of 2020.
SELECT seqguard_create_series('LOT', 'LOT{IYYY}W{IW}-{seq:3}');
SELECT next_formatted_id('LOT', '', '2020-12-31') AS thu, next_formatted_id('LOT', '', '2021-01-01') AS fri,
       next_formatted_id('LOT', '', '2021-01-03') AS sun, next_formatted_id('LOT', '', '2021-01-04') AS mon;
-- An ISO year alone: per ISO year, which starts on the Monday of week 1.
SELECT seqguard_create_series('IY', 'B{IY}-{seq}');
SELECT next_formatted_id('IY', '', '2024-12-29') AS sun, next_formatted_id('IY', '', '2024-12-30') AS mon,
       next_formatted_id('IY', '', '2025-01-01') AS new_year;

-- Leap days, daily.
SELECT seqguard_create_series('LEAP', 'L{YYYY}{MM}{DD}-{seq}');
SELECT next_formatted_id('LEAP', '', '2024-02-29') AS feb_29, next_formatted_id('LEAP', '', '2024-03-01') AS mar_1,
       next_formatted_id('LEAP', '', '2024-02-29') AS feb_29_again;

SELECT series, scope, period, last_value FROM seqguard_counters
 WHERE series IN ('SINV', 'R', 'D', 'Y', 'YD', 'FY', 'FYM', 'LOT', 'IY', 'LEAP') ORDER BY series, period;

-- peek, currval and setval find the same counters.
SELECT seqguard_peek('LOT', '', '2021-01-02') AS peek_w53, seqguard_currval('LOT', '', '2021-01-02') AS currval_w53,
       seqguard_peek('FY', '', '2025-05-01') AS peek_fy25;
SELECT seqguard_setval('SINV', 41, '', '1999-07-07');
SELECT next_formatted_id('SINV', '', '2030-03-03') AS after_setval;

-- sync reads back every period the template identifies, and decoration into the one.
CREATE TABLE lots (id text);
INSERT INTO lots VALUES ('LOT2020W53-007'), ('LOT2021W01-009'), ('LOT2021W53-001'), ('LOT2015W53-004');
SELECT seqguard_create_series('LOTS', 'LOT{IYYY}W{IW}-{seq:3}', target_table => 'lots', target_column => 'id');
SELECT seqguard_sync_series('LOTS');
CREATE TABLE fy_docs (id text);
INSERT INTO fy_docs VALUES ('INV/2024-2025/0012'), ('INV/2024-2026/0099'), ('R-02-050'), ('R-13-099');
SELECT seqguard_create_series('FYS', 'INV/{FY:4}/{seq:4}', target_table => 'fy_docs', target_column => 'id');
SELECT seqguard_create_series('RS', 'R-{MM}-{seq:3}', target_table => 'fy_docs', target_column => 'id');
SELECT seqguard_sync_series('FYS'), seqguard_sync_series('RS');
SELECT next_formatted_id('FYS', '', '2025-01-15') AS after_sync_fy, next_formatted_id('RS', '', '2031-07-01') AS after_sync_r;

-- seqguard_parse_id: the scope, period and number an ID stands for; no row when the
-- series could not have issued it.
SELECT * FROM seqguard_parse_id('LOT', 'LOT2020W53-007');
SELECT * FROM seqguard_parse_id('FY', 'INV/2024-2025/0012');
SELECT * FROM seqguard_parse_id('SINV', 'SINV-02-0002');
SELECT * FROM seqguard_parse_id('LEAP', 'L20240229-2');
SELECT count(*) AS no_row FROM seqguard_parse_id('LEAP', 'L20230229-2');
SELECT count(*) AS no_row FROM seqguard_parse_id('LOT', 'LOT2021W53-001');
SELECT pg_temp.err($$ SELECT * FROM seqguard_parse_id('NOPE', 'X-1') $$);
SELECT pg_temp.err($$ SELECT * FROM seqguard_parse_id('LOT', NULL) $$);

-- reset: a coarser period than the rule (monthly-printed IDs numbered per year).
SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:4}', reset => 'yearly');
SELECT * FROM seqguard_parse_id('INVY', 'INV/2026/11/0007');
SELECT next_formatted_id('INVY', '', '2026-01-31') AS jan, next_formatted_id('INVY', '', '2026-02-01') AS feb,
       next_formatted_id('INVY', '', '2026-12-31') AS dec, next_formatted_id('INVY', '', '2027-01-01') AS next_year;
SELECT seqguard_create_series('LOTN', 'LOT{IYYY}W{IW}-{seq}', reset => 'never');
SELECT next_formatted_id('LOTN', '', '2020-12-31') AS w53, next_formatted_id('LOTN', '', '2021-01-04') AS w01;
SELECT seqguard_create_series('DW', 'D{YYYY}{MM}{DD}-{seq}', reset => 'weekly');
SELECT next_formatted_id('DW', '', '2020-12-31') AS thu, next_formatted_id('DW', '', '2021-01-03') AS sun,
       next_formatted_id('DW', '', '2021-01-04') AS mon;
SELECT seqguard_create_series('FYF', '{FY:4}/{MM}-{seq}', reset => 'fiscal');
SELECT next_formatted_id('FYF', '', '2025-04-30') AS apr, next_formatted_id('FYF', '', '2026-03-31') AS mar,
       next_formatted_id('FYF', '', '2026-04-01') AS new_fy;
SELECT series, period, last_value FROM seqguard_counters WHERE series IN ('INVY', 'LOTN', 'DW', 'FYF') ORDER BY 1, 2;
-- Finer than the printed tokens can tell apart, or no such reset: 22023, nothing created.
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'R-{MM}-{seq:3}', reset => 'monthly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{seq}', reset => 'daily') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{MM}/{seq}', reset => 'daily') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{seq}', reset => 'weekly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'LOT{IYYY}-{seq}', reset => 'weekly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{seq}', reset => 'fiscal') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{FY:4}/{seq}', reset => 'yearly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{seq}', reset => 'hourly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'INV/{YYYY}/{seq}', reset => 'Yearly') $$);
SELECT count(*) AS no_bad_series FROM seqguard_series WHERE series = 'BAD';
SELECT series, format, reset, time_zone FROM seqguard_series WHERE series IN ('INVY', 'LOTN', 'DW', 'FYF', 'SINV') ORDER BY 1;

-- time_zone: calls that do not pass `at` number by today in that zone. Pacific/Kiritimati
-- (UTC+14) and Etc/GMT+12 (UTC-12) are 26 hours apart: at every instant they are on two
-- sides of at least one midnight, and the session's zone does not matter.
SELECT seqguard_create_series('KIR', 'K{YYYY}{MM}{DD}-{seq}', time_zone => 'Pacific/Kiritimati');
SELECT seqguard_create_series('GMT12', 'G{YYYY}{MM}{DD}-{seq}', time_zone => 'etc/gmt+12');
SELECT seqguard_create_series('NOZONE', 'N{YYYY}{MM}{DD}-{seq}');
SELECT series, time_zone FROM seqguard_series WHERE series IN ('KIR', 'GMT12', 'NOZONE') ORDER BY 1;
SET TimeZone = 'Etc/GMT+12';
BEGIN;
SELECT next_formatted_id('KIR') = 'K' || to_char(now() AT TIME ZONE 'Pacific/Kiritimati', 'YYYYMMDD') || '-1' AS kiritimati_today,
       next_formatted_id('GMT12') = 'G' || to_char(now() AT TIME ZONE 'Etc/GMT+12', 'YYYYMMDD') || '-1' AS gmt12_today,
       next_formatted_id('NOZONE') = 'N' || to_char(current_date, 'YYYYMMDD') || '-1' AS session_today;
SELECT (now() AT TIME ZONE 'Pacific/Kiritimati')::date - (now() AT TIME ZONE 'Etc/GMT+12')::date IN (1, 2) AS days_apart,
       seqguard_currval('KIR') = 1 AS currval_by_zone,
       seqguard_peek('KIR') = 'K' || to_char(now() AT TIME ZONE 'Pacific/Kiritimati', 'YYYYMMDD') || '-2' AS peek_by_zone;
COMMIT;
SET TimeZone = 'Pacific/Kiritimati';
SELECT next_formatted_id('GMT12') = 'G' || to_char(now() AT TIME ZONE 'Etc/GMT+12', 'YYYYMMDD') || '-2' AS zone_not_session,
       next_formatted_id('NOZONE') = 'N' || to_char(current_date, 'YYYYMMDD') || '-1' AS session_zone_when_none,
       next_formatted_id('KIR', '', 'infinity') = 'K' || to_char(now() AT TIME ZONE 'Pacific/Kiritimati', 'YYYYMMDD') || '-2' AS infinity_is_today;
-- Late-bound numbers, given at commit, take the series' zone too.
CREATE TABLE kir_docs (pk serial PRIMARY KEY, id text);
SELECT seqguard_create_series('KIRL', 'KL{YYYY}{MM}{DD}-{seq}', time_zone => 'Pacific/Kiritimati');
SELECT seqguard_attach('kir_docs', 'id', 'KIRL');
SET TimeZone = 'Etc/GMT+12';
BEGIN;
INSERT INTO kir_docs DEFAULT VALUES;
SET CONSTRAINTS ALL IMMEDIATE;  -- numbers now, in this transaction: the same now()
SELECT id = 'KL' || to_char(now() AT TIME ZONE 'Pacific/Kiritimati', 'YYYYMMDD') || '-1' AS late_bound_by_zone
  FROM kir_docs;
COMMIT;
SELECT seqguard_detach('kir_docs', 'id');
DROP TABLE kir_docs;
RESET TimeZone;
-- A date passed explicitly is taken as given; NULL stays an error.
SELECT next_formatted_id('KIR', '', '2026-12-31') AS explicit_date;
SELECT pg_temp.err($$ SELECT next_formatted_id('KIR', '', NULL) $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('KIR', '', '-infinity') $$);
-- Not an IANA zone: 22023, nothing created.
SELECT pg_temp.err($$ SELECT seqguard_create_series('BADTZ', 'X{seq}', time_zone => 'Mars/Olympus_Mons') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BADTZ', 'X{seq}', time_zone => 'FOO+3') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BADTZ', 'X{seq}', time_zone => '') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BADTZ', 'X{seq}', time_zone => 'PST') $$);
SELECT count(*) AS no_badtz_series FROM seqguard_series WHERE series = 'BADTZ';

-- if_not_exists: the same definition again is left alone (NOTICE); another is 42710.
SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:4}', reset => 'yearly', if_not_exists => true);
SELECT seqguard_create_series('KIR', 'K{YYYY}{MM}{DD}-{seq}', time_zone => 'pacific/kiritimati', if_not_exists => true);
SELECT pg_temp.err($$ SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:4}', if_not_exists => true) $$);
-- The error says what differs.
SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:5}', gapless => false, reset => 'yearly', if_not_exists => true);
SELECT pg_temp.err($$ SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:4}', reset => 'yearly') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('INVY', 'INV/{YYYY}/{MM}/{seq:4}', reset => 'yearly', if_not_exists => NULL) $$);
-- Its counters did not move.
SELECT next_formatted_id('INVY', '', '2027-05-05') AS counters_kept;

SELECT count(seqguard_drop_series(series)) AS dropped FROM seqguard_series
 WHERE series IN ('SINV', 'R', 'D', 'Y', 'YD', 'FY', 'FYM', 'LOT', 'IY', 'LEAP', 'LOTS', 'FYS', 'RS', 'INVY', 'LOTN', 'DW',
                  'FYF', 'KIR', 'GMT12', 'NOZONE', 'KIRL');
DROP TABLE lots, fy_docs;
