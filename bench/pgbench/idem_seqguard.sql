-- One begin + complete pair on a fresh key, each its own transaction (as a worker
-- would: take the key, do the work, record the result).
\set r random(1, 9000000000000000000)
SELECT job_id AS jid FROM seqguard_idem_begin('k-' || :client_id::text || '-' || :r::text) \gset
SELECT seqguard_idem_complete('k-' || :client_id::text || '-' || :r::text, :jid, '{"ok": true}');
