// Idempotency keys in PostgreSQL: one row per (role, key) in seqguard.idem_keys.
//
// How one job per key is guaranteed, at every isolation level:
//
//  1. Every call that changes a key first takes the key's lock (locks.hpp: a heavyweight
//     lock in seqguard's own space, hash of role and key) and holds it to the end of the
//     transaction. Concurrent begins of one key therefore queue: the first decides and
//     writes; the next one runs only after the first committed (and sees its job) or
//     rolled back (and finds nothing, so it starts the job itself). A savepoint rollback
//     releases the lock together with the row it wrote. A begin that only answers
//     (in_progress, completed) wrote nothing and releases the lock at once.
//  2. Under the lock the row is read with a dirty snapshot through the primary key, the
//     way PostgreSQL checks unique and replication keys: it sees the latest committed
//     version whatever the caller's snapshot, and a change still in progress by another
//     transaction (only purge deletes rows without holding their lock for good) is
//     waited for, then the read is repeated. The locks are released after the commit is
//     visible, so the next holder always reads what the previous one wrote.
//  3. The row is then written directly (heap insert/update/delete with index upkeep, as
//     the catalogs are), not through SQL. Nothing on this path uses an MVCC snapshot, so
//     a REPEATABLE READ caller that waited never gets "could not serialize access", and
//     a SERIALIZABLE caller takes no predicate locks on the registry: two serializable
//     transactions beginning different keys do not fail each other (a registry behaves
//     like a sequence, not like a table the transaction read). The price: an SQL reader
//     of the table at REPEATABLE READ may see an old version beside its own new one.
//  4. Purge deletes an expired row only while holding its key lock (taken without
//     waiting, released right after the delete, so that a sweep over a million keys does
//     not fill the lock table). A begin that gets the lock after that sees the delete in
//     progress and waits for purge's transaction (2.).
//
// Time is clock_timestamp(), read once per call after the key's lock is granted, not
// now(): a caller that waited, or whose transaction started long ago, judges leases and
// expiry at the moment it decides, so the times of a key follow the order in which its
// lock was taken. Deadlines are that time plus the interval, added as SQL adds them
// (calendar months); the ttl interval is stored so that complete and fail can add it to
// their own time.
#include "seqguard/core/idem.hpp"

#include "pg/idem.hpp"

#include <cstring>
#include <string>

#include "pg/direct.hpp"
#include "pg/locks.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace seqguard::pg::idem {

namespace {

namespace ci = core::idem;
using ci::Micros;

// Columns of seqguard.idem_keys (attribute numbers), checked against the table on open.
enum Col : int {
  c_owner = 1,
  c_key,
  c_status,
  c_job_id,
  c_attempt,
  c_fingerprint,
  c_result,
  c_error,
  c_lease_until,
  c_ttl,
  c_expires_at,
  c_created_at,
  c_started_at,
  c_finished_at,
};
constexpr int kNatts = c_finished_at;
constexpr const char* kColumnNames[kNatts] = {"owner",      "key",         "status",     "job_id",
                                              "attempt",    "fingerprint", "result",     "error",
                                              "lease_until", "ttl",        "expires_at", "created_at",
                                              "started_at", "finished_at"};

// One row, copied out of the buffer (varlenas detoasted) into the current memory context.
struct Row {
  ItemPointerData tid;
  Datum values[kNatts];
  bool nulls[kNatts];
  Datum& operator[](Col c) { return values[c - 1]; }
  bool& null(Col c) { return nulls[c - 1]; }
  bool has(Col c) const { return !nulls[c - 1]; }
  Datum get(Col c) const { return values[c - 1]; }
};

// seqguard.idem_keys, open for the duration of one call.
class KeyTable : public direct::Table {
 public:
  explicit KeyTable(LOCKMODE mode) : direct::Table("idem_keys", kColumnNames, kNatts, 2, mode) {}
};

// The key as a text datum (for index scan keys and for storing).
struct Key {
  std::string_view view;
  text* datum;
};

Key make_key(std::string_view key) {
  text* t = pg_call([&] { return cstring_to_text_with_len(key.data(), (int)key.size()); });
  return Key{key, t};
}

// Keys of different roles never share a lock: a role cannot detect another's key by
// waiting on it.
uint64_t key_lock_hash(Oid owner, std::string_view key) { return lock_hash(std::to_string(owner), key); }

void check_key(std::string_view key) {
  int chars = 0, preview = 0;
  pg_try([&] {
    chars = pg_mbstrlen_with_len(key.data(), (int)key.size());
    preview = pg_mbcliplen(key.data(), (int)key.size(), 40);
  });
  ci::check_key(chars, key.substr(0, (size_t)preview));
}

std::string interval_text(const Interval* iv) {
  char* s = pg_call([&] { return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv))); });
  std::string out(s);
  pfree(s);
  return out;
}

// An interval's length as PostgreSQL compares intervals (a month is 30 days, a day 24
// hours); overflow saturates. Only used to bound leases and TTLs.
Micros interval_length(const Interval* iv) noexcept {
  __int128 us = (__int128)iv->time + (__int128)iv->day * USECS_PER_DAY +
                (__int128)iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
  if (us > (__int128)INT64_MAX) return INT64_MAX;
  if (us < (__int128)INT64_MIN) return INT64_MIN;
  return (Micros)us;
}

// `t + iv` exactly as SQL computes timestamptz + interval: calendar months, and days
// in the session's time zone.
Micros plus(Micros t, const Interval* iv) {
  return pg_call([&] {
    return DatumGetTimestampTz(
        DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(t), IntervalPGetDatum(iv)));
  });
}

// Rejects a lease or TTL that does not end after now or is longer than 1000 years.
void check_interval(const char* what, const Interval* iv) {
  Micros length = interval_length(iv);
  Micros from_now = length;
  if (length > -ci::kMaxDuration && length <= ci::kMaxDuration) {  // else `plus` could leave the range
    Micros now = GetCurrentTimestamp();
    from_now = plus(now, iv) - now;
  }
  if (from_now <= 0 || length > ci::kMaxDuration) ci::check_duration(what, from_now, length, interval_text(iv));
}

void check_writable(const char* what) {
  pg_try([&] { PreventCommandIfReadOnly(what); });
}

using direct::Found;
using direct::Probe;

Found probe(const KeyTable& t, Oid owner, const Key& key, Probe how, Row* row) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], c_owner, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(owner));
  ScanKeyInit(&keys[1], c_key, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(key.datum));
  return direct::probe(t, keys, 2, how, row->values, row->nulls, &row->tid);
}

std::string text_value(Datum d) {
  char* s = pg_call([&] { return text_to_cstring(DatumGetTextPP(d)); });
  std::string out(s);
  pfree(s);
  return out;
}

ci::Stored to_stored(const Row& row) {
  ci::Stored s;
  std::string status = text_value(row.get(c_status));
  std::optional<ci::Status> st = ci::parse_status(status);
  if (!st) fail(core::sqlstate::internal_error, "table seqguard.idem_keys holds unknown status \"" + status + "\"");
  s.status = *st;
  s.job_id = DatumGetInt64(row.get(c_job_id));
  s.attempt = DatumGetInt32(row.get(c_attempt));
  if (row.has(c_fingerprint)) s.fingerprint = text_value(row.get(c_fingerprint));
  if (row.has(c_lease_until)) s.lease_until = DatumGetTimestampTz(row.get(c_lease_until));
  s.expires_at = DatumGetTimestampTz(row.get(c_expires_at));
  return s;
}

Datum text_datum(std::string_view s) {
  return pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), (int)s.size())); });
}

Datum status_datum(ci::Status s) { return text_datum(ci::status_name(s)); }

// Writes `row` over the version at row.tid (update) or as a new row (insert).
void write_row(const KeyTable& t, Row& row, bool update) {
  direct::write(t, update ? &row.tid : nullptr, row.values, row.nulls);
}

void delete_row(const KeyTable& t, Row& row) { direct::remove(t, &row.tid); }

int64_t next_job_id() {
  Oid schema = catalog().schema;
  return pg_call([&] {
    Oid seq = get_relname_relid("idem_job_id", schema);
    if (!OidIsValid(seq))
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("sequence seqguard.idem_job_id does not exist")));
    return nextval_internal(seq, false);
  });
}

Micros clock_now() { return GetCurrentTimestamp(); }

// Takes the key's lock and reads its row: the first steps of every call that changes it.
struct Locked {
  Oid owner;
  Key key;
  Row row;
  std::optional<ci::Stored> stored;
  Micros now;
};

void lock_and_read(Locked& l, const KeyTable& t) {
  if (probe(t, l.owner, l.key, Probe::writer, &l.row) == Found::row) l.stored = to_stored(l.row);
  l.now = clock_now();
}

}  // namespace

BeginAnswer begin(const BeginArgs& a) {
  check_writable("seqguard_idem_begin()");
  Oid owner = GetUserId();
  check_key(a.key);
  check_interval("lease", a.lease);
  check_interval("ttl", a.ttl);

  Locked l{owner, make_key(a.key), {}, std::nullopt, 0};
  uint64_t hash = key_lock_hash(owner, a.key);
  bool held_before = lock_object(LockSpace::idem_key, hash, ExclusiveLock);
  KeyTable t(RowExclusiveLock);
  lock_and_read(l, t);
  ci::BeginRequest req;
  req.fingerprint = a.fingerprint;
  req.lease_until = plus(l.now, a.lease);
  req.ttl_until = plus(l.now, a.ttl);
  req.rerun_completed = a.rerun_completed;
  ci::BeginDecision d = ci::decide_begin(a.key, l.stored, l.now, req);

  BeginAnswer answer{d.answer, d.job_id, d.attempt, std::nullopt};
  if (d.answer == ci::Answer::completed && l.row.has(c_result)) answer.result = l.row.get(c_result);
  if (!d.start) {
    // Nothing was written: the next caller need not wait for this transaction to end
    // (a client polling a running job from a long transaction blocks nobody).
    if (!held_before) unlock_object(LockSpace::idem_key, hash, ExclusiveLock);
    return answer;
  }

  const ci::NewAttempt& s = *d.start;
  answer.job_id = next_job_id();
  Row& row = l.row;
  bool update = l.stored.has_value();
  std::fill(std::begin(row.nulls), std::end(row.nulls), false);
  row[c_owner] = ObjectIdGetDatum(owner);
  row[c_key] = PointerGetDatum(l.key.datum);
  row[c_status] = status_datum(ci::Status::in_progress);
  row[c_job_id] = Int64GetDatum(answer.job_id);
  row[c_attempt] = Int32GetDatum(s.attempt);
  if (s.fingerprint)
    row[c_fingerprint] = text_datum(*s.fingerprint);
  else
    row.null(c_fingerprint) = true;
  row.null(c_result) = true;
  row.null(c_error) = true;
  row[c_lease_until] = TimestampTzGetDatum(s.lease_until);
  row[c_ttl] = IntervalPGetDatum(a.ttl);
  row[c_expires_at] = TimestampTzGetDatum(s.expires_at);
  if (s.fresh || !update) row[c_created_at] = TimestampTzGetDatum(l.now);
  row[c_started_at] = TimestampTzGetDatum(l.now);
  row.null(c_finished_at) = true;
  write_row(t, row, update);
  return answer;
}

void finish(std::string_view key, int64_t job_id, ci::Finish how, std::optional<Datum> payload) {
  check_writable(how == ci::Finish::complete ? "seqguard_idem_complete()" : "seqguard_idem_fail()");
  Oid owner = GetUserId();
  check_key(key);
  Locked l{owner, make_key(key), {}, std::nullopt, 0};
  lock_object(LockSpace::idem_key, key_lock_hash(owner, key), ExclusiveLock);
  KeyTable t(RowExclusiveLock);
  lock_and_read(l, t);
  // The outcome is kept for the ttl the key was begun with, from now.
  Micros keep_until = l.stored ? plus(l.now, DatumGetIntervalP(l.row.get(c_ttl))) : l.now;
  ci::FinishDecision d = ci::decide_finish(key, l.stored, l.now, job_id, how, keep_until);

  Row& row = l.row;
  row[c_status] = status_datum(d.status);
  Col filled = how == ci::Finish::complete ? c_result : c_error;
  Col cleared = how == ci::Finish::complete ? c_error : c_result;
  row.null(filled) = !payload;
  if (payload) row[filled] = *payload;
  row.null(cleared) = true;
  row.null(c_lease_until) = true;
  row[c_expires_at] = TimestampTzGetDatum(d.expires_at);
  row[c_finished_at] = TimestampTzGetDatum(l.now);
  row.null(c_finished_at) = false;
  write_row(t, row, true);
}

void heartbeat(std::string_view key, int64_t job_id, const Interval* lease) {
  check_writable("seqguard_idem_heartbeat()");
  Oid owner = GetUserId();
  check_key(key);
  check_interval("lease", lease);
  Locked l{owner, make_key(key), {}, std::nullopt, 0};
  lock_object(LockSpace::idem_key, key_lock_hash(owner, key), ExclusiveLock);
  KeyTable t(RowExclusiveLock);
  lock_and_read(l, t);
  ci::HeartbeatDecision d = ci::decide_heartbeat(key, l.stored, l.now, job_id, plus(l.now, lease));

  Row& row = l.row;
  row[c_lease_until] = TimestampTzGetDatum(d.lease_until);
  row[c_expires_at] = TimestampTzGetDatum(d.expires_at);
  write_row(t, row, true);
}

std::optional<KeyState> get(std::string_view key) {
  Oid owner = GetUserId();
  check_key(key);
  Key k = make_key(key);
  KeyTable t(AccessShareLock);
  Row row;
  if (probe(t, owner, k, Probe::reader, &row) != Found::row) return std::nullopt;
  ci::Stored s = to_stored(row);
  if (!ci::visible(s, clock_now())) return std::nullopt;
  KeyState st{s.status, s.job_id, s.attempt, std::nullopt, std::nullopt, s.expires_at};
  if (row.has(c_result)) st.result = row.get(c_result);
  if (row.has(c_error)) st.error = row.get(c_error);
  return st;
}

int32_t purge() {
  check_writable("seqguard_idem_purge()");
  Oid me = GetUserId();
  Oid ext_owner = catalog().owner;
  bool all_roles = pg_call([&] { return has_privs_of_role(me, ext_owner); });
  Micros now = clock_now();
  KeyTable t(RowExclusiveLock);
  Relation rel = t.rel();
  Oid pkey = t.pkey();

  // Candidates come from a scan that sees the latest committed rows without taking
  // predicate locks; each is checked again under its key's lock before it is deleted.
  SysScanDesc scan = pg_call([&] {
    ScanKeyData keys[1];
    ScanKeyInit(&keys[0], c_owner, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(me));
    return all_roles ? systable_beginscan(rel, InvalidOid, false, SnapshotSelf, 0, nullptr)
                     : systable_beginscan(rel, pkey, true, SnapshotSelf, 1, keys);
  });
  MemoryContext outer = CurrentMemoryContext;
  MemoryContext per_key = pg_call([&] {
    return AllocSetContextCreate(CurrentMemoryContext, "seqguard purge", ALLOCSET_DEFAULT_SIZES);
  });
  int32_t deleted = 0;
  for (;;) {
    // The outer scan runs in the outer context (index scans keep state they allocate
    // lazily); everything about one candidate lives in per_key, reset for the next.
    MemoryContextSwitchTo(outer);
    struct Candidate {
      bool valid;
      bool expired;
      Oid owner;
      text* key;
    } c{};
    pg_try([&] {
      CHECK_FOR_INTERRUPTS();
      MemoryContextReset(per_key);
      HeapTuple tup = systable_getnext(scan);
      if (!HeapTupleIsValid(tup)) return;
      c.valid = true;
      TupleDesc desc = RelationGetDescr(rel);
      bool isnull;
      TimestampTz expires_at = DatumGetTimestampTz(heap_getattr(tup, c_expires_at, desc, &isnull));
      if (now < expires_at) return;  // not expired; a live lease is checked below
      c.expired = true;
      c.owner = DatumGetObjectId(heap_getattr(tup, c_owner, desc, &isnull));
      MemoryContext prev = MemoryContextSwitchTo(per_key);
      c.key = DatumGetTextPCopy(heap_getattr(tup, c_key, desc, &isnull));
      MemoryContextSwitchTo(prev);
    });
    if (!c.valid) break;
    if (!c.expired) continue;
    MemoryContextSwitchTo(per_key);
    Key key{std::string_view(VARDATA_ANY(c.key), VARSIZE_ANY_EXHDR(c.key)), c.key};
    uint64_t hash = key_lock_hash(c.owner, key.view);
    if (try_lock_object(LockSpace::idem_key, hash, ExclusiveLock)) {
      Row row;
      if (probe(t, c.owner, key, Probe::sweeper, &row) == Found::row && ci::expired(to_stored(row), now)) {
        delete_row(t, row);
        deleted++;
      }
      unlock_object(LockSpace::idem_key, hash, ExclusiveLock);
    }
  }
  MemoryContextSwitchTo(outer);
  pg_try([&] {
    systable_endscan(scan);
    MemoryContextDelete(per_key);
  });
  return deleted;
}

}  // namespace seqguard::pg::idem
