-- SPEC section 2: sequence drift, check and repair; section 4: the duplicate finder.
--
-- All four run with the caller's privileges (not SECURITY DEFINER): checking reads
-- only what the caller may read, and a sync moves only sequences the caller could
-- setval() itself, so EXECUTE stays with PUBLIC. Bound series are synced only for
-- callers who may run seqguard_sync_series. They read and write the database, hence
-- VOLATILE; they take locks and run SPI, hence PARALLEL UNSAFE.

CREATE FUNCTION seqguard_check_drift(schema_name text DEFAULT NULL)
RETURNS TABLE(table_name regclass, column_name name, sequence_name regclass, kind text,
              last_value bigint, next_value bigint, column_max bigint, status text, lag bigint)
AS 'MODULE_PATHNAME', 'seqguard_check_drift'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync_all(dry_run boolean DEFAULT false, schema_name text DEFAULT NULL)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync_all'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync(tbl regclass)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_find_duplicates(tbl regclass, col name)
RETURNS TABLE(value text, copies bigint)
AS 'MODULE_PATHNAME', 'seqguard_find_duplicates'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- What \dx+, \df+ and \d+ show; the update script sets the same text.
COMMENT ON FUNCTION seqguard_check_drift(text) IS 'Compares every sequence-backed column the caller may read with its sequence, and seqguard''s own counters and job ids with the data they numbered: status (ok, behind, empty, exhausted, no_privilege) and lag';
COMMENT ON FUNCTION seqguard_sync_all(boolean, text) IS 'Moves every drifted sequence, series counter and job id sequence the caller may set past the data (after a restore or a cutover); returns how many moved';
COMMENT ON FUNCTION seqguard_sync(regclass) IS 'Moves the sequences of one table''s columns past the data; returns how many moved';
COMMENT ON FUNCTION seqguard_find_duplicates(regclass, name) IS 'The values that occur more than once in a table''s column, with their number of copies';
