-- seqguard 1.0 -> 1.1. After this script a database holds exactly what a fresh 1.1
-- install makes (scripts/check-versions --server compares them), and every counter
-- keeps its position.
\echo Use "ALTER EXTENSION seqguard UPDATE TO '1.1'" to load this file. \quit

-- Allocation privilege: every existing series stays allocatable by PUBLIC.
ALTER TABLE seqguard.series ADD COLUMN allocators regrole[] NOT NULL DEFAULT '{-}';

CREATE FUNCTION seqguard_grant_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_grant_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_revoke_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_revoke_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION seqguard_grant_allocate(text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_revoke_allocate(text, name) FROM PUBLIC;

CREATE OR REPLACE VIEW seqguard_series AS
SELECT s.name AS series, s.format, s.gapless, s.start_value, s.increment, s.on_overflow,
       s.target_table, s.target_column, s.created_at, s.allocators
  FROM seqguard.series s;

CREATE OR REPLACE VIEW seqguard_counters AS
SELECT c.series, c.scope, c.period,
       CASE WHEN c.sequence_name IS NULL THEN c.last_value ELSE q.last_value END AS last_value
  FROM seqguard.counters c
  JOIN seqguard.series s ON s.name OPERATOR(pg_catalog.=) c.series
  LEFT JOIN pg_catalog.pg_sequences q
         ON q.schemaname OPERATOR(pg_catalog.=) 'seqguard'
        AND q.sequencename OPERATOR(pg_catalog.=) c.sequence_name
 WHERE EXISTS (SELECT FROM pg_catalog.unnest(s.allocators::pg_catalog.oid[]) a(r)
                WHERE a.r OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                   OR pg_catalog.pg_has_role(a.r, 'USAGE'))
    OR pg_catalog.pg_has_role((SELECT n.nspowner FROM pg_catalog.pg_namespace n
                                WHERE n.nspname OPERATOR(pg_catalog.=) 'seqguard'), 'USAGE');

-- Late-bound numbers, once assigned, stay assigned: seqguard_attach gains on_change and
-- installs a BEFORE UPDATE guard, which every existing attachment gets here too.
CREATE FUNCTION seqguard.late_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_late_guard'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION seqguard.late_guard() FROM PUBLIC;

DROP FUNCTION seqguard_attach(regclass, name, text, name);
CREATE FUNCTION seqguard_attach(tbl regclass, col name, series text, scope_column name DEFAULT NULL,
                                on_change text DEFAULT 'error')
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_attach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION seqguard_attach(regclass, name, text, name, text) FROM PUBLIC;

DO $$
DECLARE
  t record;
  args text[];
BEGIN
  -- The late-bound triggers 1.0 installed (not their clones on partitions, which follow
  -- the parent's): arguments are series, column, scope column.
  FOR t IN SELECT tg.oid, tg.tgrelid, tg.tgargs
             FROM pg_catalog.pg_trigger tg
            WHERE tg.tgfoid OPERATOR(pg_catalog.=) 'seqguard.late_bind()'::pg_catalog.regprocedure
              AND tg.tgparentid OPERATOR(pg_catalog.=) 0
  LOOP
    args := pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000');
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER %I BEFORE UPDATE OF %I ON %s FOR EACH ROW EXECUTE FUNCTION seqguard.late_guard(%L, %L)',
      'seqguard_keep_' OPERATOR(pg_catalog.||) t.oid, args[2], t.tgrelid::pg_catalog.regclass, args[2], 'error');
  END LOOP;
END $$;
