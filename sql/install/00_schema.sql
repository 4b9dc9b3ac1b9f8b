-- seqguard 1.1: gapless formatted IDs, sequence drift repair, idempotency keys.
-- The SQL contract is documented in docs/reference.md.
\echo Use "CREATE EXTENSION seqguard" to load this file. \quit

-- seqguard's own state lives in a schema of its own, owned by the extension owner.
-- Ordinary roles get no privileges on it: they reach the state only through the
-- functions, which switch to the owner for their own, fully qualified queries.
CREATE SCHEMA seqguard;
REVOKE ALL ON SCHEMA seqguard FROM PUBLIC;

-- What \dx+, \df+ and \d+ show; the update script sets the same text.
COMMENT ON SCHEMA seqguard IS 'seqguard''s internal state (series, counters, idempotency keys); reached only through the extension''s functions';
