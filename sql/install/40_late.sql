-- Late-bound gapless numbers and sequences protected from explicit inserts (docs/late.md).

-- seqguard_attach() installs a deferred constraint trigger calling this function on the
-- table: the row is inserted with the column NULL, and the number is drawn and written
-- when the transaction commits. It lives in the `seqguard` schema, out of the users'
-- way; triggers reach it by OID, so no role needs USAGE on the schema to fire it.
CREATE FUNCTION seqguard.late_bind() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_late_bind'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- ... and a BEFORE UPDATE OF <column> trigger calling this one, so that an UPDATE can
-- never take an assigned number away (an ORM saving a stale object writes NULL back).
CREATE FUNCTION seqguard.late_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_late_guard'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_attach(tbl regclass, col name, series text, scope_column name DEFAULT NULL,
                                on_change text DEFAULT 'error')
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_attach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_detach(tbl regclass, col name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_detach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- seqguard_protect() installs a statement-level AFTER INSERT trigger calling this
-- function, which moves sequences past the explicit values the statement wrote.
CREATE FUNCTION seqguard.protect_sequences() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_protect_sequences'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_protect(tbl regclass)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_protect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_unprotect(tbl regclass)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_unprotect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Installing triggers is an administrator's act, like creating a series; the caller
-- must also own the table.
REVOKE ALL ON FUNCTION seqguard_attach(regclass, name, text, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_detach(regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_protect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_unprotect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard.late_bind() FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard.late_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard.protect_sequences() FROM PUBLIC;
