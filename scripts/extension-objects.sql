-- Every member of the extension named by psql variable "ext", one property per line,
-- sorted: what scripts/check-versions compares between a fresh install and an update.
-- Objects are named by pg_describe_object, never by OID, so that two databases compare.
-- Properties are generic (by catalog), so that a new function, table or view is
-- covered without touching this file.
\set QUIET on
\pset format unaligned
\pset tuples_only on
WITH m AS (
  SELECT d.classid, d.objid, d.objsubid,
         pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) AS obj
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
     AND d.deptype = 'e' AND e.extname = :'ext'
),
-- ACL entries in a canonical order: the order GRANT/REVOKE left them in means nothing.
props(obj, k, v) AS (
  SELECT obj, 'member', '' FROM m
  UNION ALL
  SELECT m.obj, 'comment', ds.description
    FROM m LEFT JOIN pg_catalog.pg_description ds
      ON ds.objoid = m.objid AND ds.classoid = m.classid AND ds.objsubid = m.objsubid
  -- Functions and procedures: the definition as pg_dump would write it (arguments,
  -- defaults, volatility, strictness, security, parallel safety, cost, SET options),
  -- plus what it does not show.
  UNION ALL
  SELECT m.obj, x.k, x.v
    FROM m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = m.objid
   CROSS JOIN LATERAL (VALUES
     ('definition', CASE WHEN p.prokind IN ('f', 'p') THEN pg_catalog.pg_get_functiondef(p.oid) END),
     ('kind', p.prokind::text),
     ('volatility', p.provolatile::text),
     ('parallel', p.proparallel::text),
     ('strict', p.proisstrict::text),
     ('security definer', p.prosecdef::text),
     ('leakproof', p.proleakproof::text),
     ('config', p.proconfig::text),
     ('owner', p.proowner::pg_catalog.regrole::text),
     ('privileges', (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
                       FROM pg_catalog.unnest(p.proacl) a))) x(k, v)
  -- Tables, views, sequences, indexes: kind, options, owner, privileges, row security,
  -- view definitions.
  UNION ALL
  SELECT m.obj, x.k, x.v
    FROM m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
   CROSS JOIN LATERAL (VALUES
     ('relkind', c.relkind::text),
     ('persistence', c.relpersistence::text),
     ('options', c.reloptions::text),
     ('owner', c.relowner::pg_catalog.regrole::text),
     ('row security', c.relrowsecurity::text || ' force ' || c.relforcerowsecurity::text),
     ('view definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END),
     ('privileges', (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
                       FROM pg_catalog.unnest(c.relacl) a))) x(k, v)
  -- Columns, in their order (position among the live columns: ALTER TABLE ADD COLUMN
  -- after a DROP COLUMN leaves a hole in attnum that a fresh install does not have).
  UNION ALL
  SELECT m.obj, 'column ' || pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
         pg_catalog.concat_ws(' ', pg_catalog.quote_ident(a.attname),
                              pg_catalog.format_type(a.atttypid, a.atttypmod),
                              CASE WHEN a.attcollation <> t.typcollation THEN 'collate ' || co.collname END,
                              CASE WHEN a.attnotnull THEN 'not null' END,
                              CASE WHEN a.attidentity <> '' THEN 'identity ' || a.attidentity::text END,
                              CASE WHEN a.attgenerated <> '' THEN 'generated' END,
                              'default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
                              'storage ' || a.attstorage::text,
                              'privileges ' || (SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text)
                                                  FROM pg_catalog.unnest(a.attacl) x),
                              'comment ' || pg_catalog.quote_literal(pg_catalog.col_description(a.attrelid, a.attnum)))
    FROM m JOIN pg_catalog.pg_attribute a ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                          AND a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  -- Constraints (by name: pg_dump and error messages use it), indexes, triggers, policies.
  UNION ALL
  SELECT m.obj, 'constraint ' || co.conname,
         pg_catalog.pg_get_constraintdef(co.oid) || CASE WHEN co.condeferrable THEN ' deferrable' ELSE '' END
                                                 || CASE WHEN co.condeferred THEN ' deferred' ELSE '' END
    FROM m JOIN pg_catalog.pg_constraint co ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND co.conrelid = m.objid
  UNION ALL
  SELECT m.obj, 'index', pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM m JOIN pg_catalog.pg_index i ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.indrelid = m.objid
  UNION ALL
  SELECT m.obj, 'trigger', pg_catalog.pg_get_triggerdef(tg.oid)
    FROM m JOIN pg_catalog.pg_trigger tg ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                         AND tg.tgrelid = m.objid AND NOT tg.tgisinternal
  UNION ALL
  SELECT m.obj, 'policy ' || po.polname,
         pg_catalog.concat_ws(' ', po.polcmd::text, po.polpermissive, po.polroles::text,
                              pg_catalog.pg_get_expr(po.polqual, po.polrelid),
                              pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid))
    FROM m JOIN pg_catalog.pg_policy po ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND po.polrelid = m.objid
  UNION ALL
  SELECT m.obj, 'sequence',
         pg_catalog.concat_ws(' ', s.seqtypid::pg_catalog.regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                              s.seqcache, s.seqcycle)
    FROM m JOIN pg_catalog.pg_sequence s ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND s.seqrelid = m.objid
  -- Schemas: owner and privileges.
  UNION ALL
  SELECT m.obj, x.k, x.v
    FROM m JOIN pg_catalog.pg_namespace n ON m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = m.objid
   CROSS JOIN LATERAL (VALUES
     ('owner', n.nspowner::pg_catalog.regrole::text),
     ('privileges', (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
                       FROM pg_catalog.unnest(n.nspacl) a))) x(k, v)
  -- Types: their definition as format_type shows it is in the member name; owner.
  UNION ALL
  SELECT m.obj, 'owner', ty.typowner::pg_catalog.regrole::text
    FROM m JOIN pg_catalog.pg_type ty ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND ty.oid = m.objid
  -- The extension itself: its schema, and which tables and sequences pg_dump keeps
  -- (pg_extension_config_dump) with which condition.
  UNION ALL
  SELECT 'extension ' || e.extname, 'schema', e.extnamespace::pg_catalog.regnamespace::text
    FROM pg_catalog.pg_extension e WHERE e.extname = :'ext'
  UNION ALL
  SELECT 'extension ' || e.extname, 'dumped configuration ' || c.r::pg_catalog.regclass::text,
         pg_catalog.quote_literal(c.cond)
    FROM pg_catalog.pg_extension e
   CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) c(r, cond)
   WHERE e.extname = :'ext'
)
SELECT obj || ' | ' || k || ' | ' || pg_catalog.replace(COALESCE(v, '<none>'), E'\n', E'\n    ')
  FROM props
 ORDER BY obj, k, v;
