// Counters of formatted IDs.
//
// Where a gapless counter's value lives during a transaction is what makes seqguard
// both correct and fast. The naive design (UPDATE counter SET v = v + 1 per ID) is
// quadratic inside one transaction, because every update of the same row adds a tuple
// version that the next update must walk past. Instead:
//
//  1. The first allocation of a transaction reads the counter's row directly
//     (direct.hpp) with a dirty snapshot and locks it as SELECT ... FOR UPDATE would
//     (lock_counter_row): the lock is held until commit, so the row cannot change under
//     us, and a transaction that finds it locked waits for the holder's transaction to
//     end, then reads the newest version. No MVCC snapshot is involved: no
//     serialization failure at REPEATABLE READ, no predicate lock at SERIALIZABLE. A
//     row lock lives in the row, not in the shared lock table, so a transaction may
//     take any number of counters.
//  2. Later allocations count in backend memory: O(1) per ID.
//  3. XACT_EVENT_PRE_COMMIT writes each counter row once, directly again.
//  4. A (sub)transaction abort restores the values saved when the subtransaction first
//     touched the counter; the row locks the subtransaction took end with it.
//
// Fast counters (gapless => false) are plain sequences in the `seqguard` schema, one
// per (series, scope, period), created on first use.
#include "seqguard/core/template.hpp"

#include "pg/series.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pg/direct.hpp"
#include "pg/locks.hpp"
#include "pg/period.hpp"
#include "pg/sequence.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/stratnum.h"
#include "access/xact.h"
#include "postmaster/bgworker.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "commands/sequence.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rls.h"
}

namespace seqguard::pg {

namespace {

struct SeriesDef {
  std::string name;
  core::Template tpl;
  bool gapless;
  int64_t start;
  int32_t increment;
  bool overflow_error;
  Oid target_table;
  std::string target_column;
  std::optional<std::string> reset;      // as given at creation; NULL: the template's rule
  std::optional<std::string> time_zone;  // validated IANA name
  const pg_tz* tz = nullptr;             // of time_zone; PostgreSQL keeps zones for good
  // Roles that may allocate (seqguard_grant_allocate); InvalidOid stands for PUBLIC.
  std::vector<Oid> allocators;
};

struct Save {
  int level;
  std::optional<int64_t> last;
  bool dirty;
};

// One entry per counter a transaction touched: an import that numbers each row in a
// scope of its own holds one per row, so the entry is kept small (about 80 bytes, plus
// the map node and its key; see kMaxCountersInMemory for the bound). The scope and the
// period are read from the key the entry is stored under, not kept twice.
struct Counter {
  const SeriesDef* series;      // kept alive for the transaction by series_in_use
  const std::string* key;       // the map key this entry is stored under
  std::optional<int64_t> last;  // gapless: last value issued, or stored in the table
  std::vector<Save> saves;      // gapless: values to restore on subtransaction abort
  ItemPointerData tid;          // gapless: where the row is, when in_table
  int created_level;            // nest level whose abort forgets this entry
  Oid sequence = InvalidOid;    // fast: the sequence behind the counter
  bool in_table = false;        // gapless: the row exists in seqguard.counters
  bool dirty = false;           // gapless: must be written before commit
  // gapless: a new counter whose row the allocation under way inserts, holding the
  // counter's heavyweight lock until then (release_creation_lock: this call took it).
  bool creating = false;
  bool release_creation_lock = false;
  bool unchecked = false;  // ... and nobody looked for the row first (insert_new_counter_row)
  // gapless: taken by writing its next number (take_by_writing): `last` is that number,
  // which the allocation under way returns.
  bool drawn = false;

  // The key is series \0 scope \0 period (counter_key); text never holds a \0.
  std::string_view scope() const {
    std::string_view k(*key);
    k.remove_prefix(series->name.size() + 1);
    return k.substr(0, k.find('\0'));
  }
  std::string_view period() const {
    std::string_view k(*key);
    return k.substr(k.find('\0', series->name.size() + 1) + 1);
  }
};

// Kept across transactions: series definitions and the sequences of fast counters. They
// change only through the functions that write seqguard.series, which send a relcache
// invalidation for it at commit; every backend then drops its copies
// (on_relcache_invalidation). A DROP and CREATE EXTENSION gives seqguard.series a new
// OID whose invalidations the old one would never match, so each transaction also
// compares the table's current OID with the one the caches were filled from
// (check_caches). A transaction that already uses a definition keeps its own
// reference, so a flush in the middle of a call never leaves one dangling.
std::unordered_map<std::string, std::shared_ptr<const SeriesDef>> series_cache;
std::unordered_map<std::string, Oid> fast_sequences;  // key: counter key
Oid series_relid = InvalidOid;
// Fast counters: the last value this session drew from each sequence, for currval (a
// sequence's own last_value is whichever session drew last). Like PostgreSQL's own
// currval state it is keyed by the sequence's OID and kept for the session: a dropped
// and re-created series has a new sequence, so it starts with no value.
std::unordered_map<Oid, int64_t> fast_last;
// Gapless counters (by lock hash) this session has found in seqguard.counters. Only a
// hint, never trusted: it decides whether a first look at a counter starts by trying
// its creation lock (worth it for a counter that is probably new, since the look under
// it is then final) or goes straight for the row (a counter in use: trying that lock,
// which every session allocating from the counter tries too, costs each of them a trip
// through the shared lock table's partition lock, and the look without it finds the
// row), and, with synchronous_commit = off, whether the counter is taken by writing
// its next number at once (take_by_writing). A wrong hint only costs the other path,
// which is correct either way. Emptied when it reaches kMaxKnownCounters, so an import
// of a million counters never grows it.
std::unordered_set<uint64_t> known_counters;
constexpr size_t kMaxKnownCounters = 4096;

// Everything below lives for one transaction.
std::map<std::string, Counter> counters;  // key: series \0 scope \0 period
// The definitions the counters above (and those set aside in `dropped`) point to, kept
// alive even if the cache is flushed in the middle of the transaction.
std::unordered_set<std::shared_ptr<const SeriesDef>> series_in_use;
const SeriesDef* series_in_use_last = nullptr;
const SeriesDef* keep_series(const std::shared_ptr<const SeriesDef>& sp) {
  if (sp.get() != series_in_use_last) {
    series_in_use.insert(sp);
    series_in_use_last = sp.get();
  }
  return sp.get();
}
// Series whose ShareLock this transaction holds: the nest level that took it, and the
// role whose right to allocate was checked last (a role's right, once checked, holds
// for the rest of the transaction, as table privileges do for a running statement).
struct SeriesLock {
  int level;
  Oid allowed_user;
};
std::unordered_map<std::string, SeriesLock> series_locks;
// Counters of series dropped by this transaction, with the nest level of the drop: if
// that subtransaction rolls back, the series is back and so must be what this
// transaction drew from it, or its numbers would be issued again.
// A DROP EXTENSION and CREATE EXTENSION inside the transaction sets all of them aside
// the same way (the schema they belong to is gone).
struct Dropped {
  int level;
  std::map<std::string, Counter> counters;
  Oid schema;  // the `seqguard` schema they belong to
};
std::vector<Dropped> dropped;
// The `seqguard` schema the counters above belong to, and whether an invalidation of
// seqguard.series since the last call means it may have been dropped and re-created.
Oid counters_schema = InvalidOid;
bool catalog_suspect = false;
// Series this transaction created: nobody else can see them yet, so their new fast
// counters are created here rather than by a worker that could not see them either.
std::unordered_set<std::string> created_here;

// The last counter used, so that a bulk INSERT ... SELECT with one series pays one
// comparison per row, not a hash of three strings.
struct LastHit {
  std::string series;
  std::string scope;
  int32_t date = 0;
  Oid user = InvalidOid;
  Counter* counter = nullptr;
} last_hit;

// A new counter's row is inserted under the counter's heavyweight lock. The first few a
// transaction creates keep that lock to its end, so that a session waiting for one of
// them waits on a lock seqguard_waits can name (a row nobody else can see yet names
// nothing); past that, an import creating any number of counters gives each lock back
// at once, and the lock table holds a small constant for it.
constexpr int kKeptCreationLocks = 16;
int creation_locks_kept = 0;

// New counters this transaction found in a row (the look-up found no row). Past
// kInsertFirstAfter, an import is taken to be numbering new scopes, and a new counter's
// row is inserted without looking for it first: the primary key's own check at insert
// looks, so a new counter costs one B-tree descent instead of two. The first counter
// that exists after all costs an insert undone (a dead row) and starts the count again,
// so a transaction that numbers existing counters never works this way.
constexpr int kInsertFirstAfter = 32;
int new_in_a_row = 0;

// A transaction that touches more counters than this lets go of the in-memory entries
// it can find again in seqguard.counters: a gapless counter whose row holds its value
// (nothing to write at commit, nothing to restore on a savepoint rollback) is still
// locked by its row, and the next call that needs it reads that row again. At the top
// level, counters with a value still to write are written first, so the map never holds
// more than this many entries there; inside a subtransaction those stay (a rollback of
// the subtransaction would undo the write, not the value the parent drew), and the next
// eviction waits until the map has doubled, so that eviction stays O(1) per counter.
// About 160 bytes an entry with a short scope: some 3 MB however many counters. Small
// enough that the bound is reached early; a counter let go of costs one index probe if
// it is needed again.
constexpr size_t kMaxCountersInMemory = 16384;
size_t evict_at = kMaxCountersInMemory;
// Series some of whose counters this transaction holds but no longer keeps in memory.
std::unordered_set<std::string> evicted_series;

// A session that took a counter through the line keeps its place to the end of its
// transaction: the next in line is then woken by that commit already holding its place,
// and takes the row at once. Giving the place up as soon as the row was taken woke the
// next session only for it to wait again, on the new holder's transaction: two sleeps
// and wake-ups per number instead of one, and the second on the critical path, while
// the holder works (with fsync on, 16 sessions ran at 0.76x one session's rate, 0.85x
// this way; bench/results.md). Past the first few contended counters of a transaction
// each place is given up at once, so the lock table holds a small constant for them.
constexpr int kKeptPlacesInLine = 16;
int places_kept = 0;

bool keep_place_in_line() {
  if (places_kept >= kKeptPlacesInLine) return false;
  places_kept++;
  return true;
}

// Whether a session that finds a counter taken lines up for it (lock_counter_row), or
// waits on the row itself as SELECT ... FOR UPDATE does: only when its commit waits for
// a WAL flush. The line pays for itself when each holder keeps the counter through a
// flush (16 sessions at 0.94x one session's rate with fsync on, 0.78x waiting on the
// row). With synchronous_commit = off a hold lasts microseconds, and the line left the
// CPUs idle between holders, 11 of 16 sessions asleep in it, where a row lock lets a
// session that is running take the row at once: 16 sessions ran 1.32x faster waiting
// on the row (bench/results.md). Either way each number is handed out under the row's
// lock; only who goes next differs.
bool line_up() { return synchronous_commit > SYNCHRONOUS_COMMIT_OFF; }

// Whether a creation lock this transaction just took must be given back now.
bool give_back_creation_lock() {
  if (creation_locks_kept < kKeptCreationLocks) {
    creation_locks_kept++;
    return false;
  }
  return true;
}

void forget_transaction_state() noexcept {
  creation_locks_kept = 0;
  places_kept = 0;
  new_in_a_row = 0;
  counters.clear();
  evicted_series.clear();
  evict_at = kMaxCountersInMemory;
  series_locks.clear();
  dropped.clear();
  last_hit.counter = nullptr;
  counters_schema = InvalidOid;
  catalog_suspect = false;
  created_here.clear();
  series_in_use.clear();  // after everything that points into it
  series_in_use_last = nullptr;
  reset_catalog_cache();
}

void on_relcache_invalidation(Datum, Oid relid) {
  bool ours = relid == InvalidOid || relid == series_relid;
  if (ours) {
    // Only flags: callers may hold references into the counters right now.
    catalog_suspect = true;
    last_hit.counter = nullptr;
  }
  for (auto& [key, seq] : fast_sequences) ours = ours || seq == relid;
  if (!ours) return;
  series_cache.clear();
  fast_sequences.clear();
}

// seqguard.series as it is now (InvalidOid when missing). catalog() may throw a C++
// exception, so it runs before, not inside, the guarded PostgreSQL call.
Oid series_table_relid() {
  Oid schema = catalog().schema;
  return pg_call([&] { return get_relname_relid("series", schema); });
}

// Empties the caches when seqguard.series is not the table they were filled from.
void check_caches() {
  Oid relid = series_table_relid();
  if (relid == series_relid) return;
  series_cache.clear();
  fast_sequences.clear();
  fast_last.clear();
  series_relid = relid;
}

// Makes every backend forget its cached series definitions once this transaction commits.
void invalidate_series_caches() {
  Oid relid = series_table_relid();
  if (relid != InvalidOid) pg_try([&] { CacheInvalidateRelcacheByRelid(relid); });
}

std::string counter_key(std::string_view series, std::string_view scope, std::string_view period) {
  std::string k;
  k.reserve(series.size() + scope.size() + period.size() + 2);
  k.append(series).push_back('\0');
  k.append(scope).push_back('\0');
  k.append(period);
  return k;
}

[[noreturn]] void unknown_series(std::string_view name) {
  fail(core::sqlstate::undefined_object, "series \"" + std::string(name) + "\" does not exist", {},
       "Create it with seqguard_create_series().");
}

// Whether seqguard.series has the columns of 1.1. The library is replaced before
// `ALTER EXTENSION seqguard UPDATE` runs: until then a 1.0 database has the 1.0 columns
// only, its counters are keyed by 1.0's periods, and it must go on working as 1.0 did.
// Asked each time a definition is loaded (after the series table's lock), not once per
// transaction: the update's invalidation arrives with that lock.
bool series_table_is_1_1(Oid relid) {
  return pg_call([&] { return get_attnum(relid, "time_zone"); }) != InvalidAttrNumber;
}

// After seqguard.series was invalidated: if this transaction dropped and re-created the
// extension, what it drew belongs to tables that are gone. Those counters are set
// aside (a savepoint rollback may bring the old extension back) and every right and
// definition is looked up afresh.
void verify_catalog() {
  catalog_suspect = false;
  reset_catalog_cache();
  Oid schema = catalog().schema;
  if (counters_schema != InvalidOid && schema != counters_schema) {
    if (!counters.empty())
      dropped.push_back(Dropped{GetCurrentTransactionNestLevel(), std::move(counters), counters_schema});
    counters.clear();
    for (auto& [name, lock] : series_locks) lock.allowed_user = InvalidOid;
  }
  counters_schema = schema;
  check_caches();
}

// The definition of a series, from the cache or from seqguard.series.
std::shared_ptr<const SeriesDef> find_series(const std::string& key) {
  if (series_locks.empty()) check_caches();  // once per transaction
  if (catalog_suspect) verify_catalog();
  auto it = series_cache.find(key);
  if (it != series_cache.end()) return it->second;

  if (series_relid == InvalidOid)
    series_relid = series_table_relid();
  const bool v1_1 = series_table_is_1_1(series_relid);
  auto def = std::make_shared<SeriesDef>();
  {
    Spi spi;
    uint64_t n = spi.execute(
        v1_1 ? "SELECT format, gapless, start_value, increment, on_overflow, target_table::pg_catalog.oid, "
               "target_column::pg_catalog.text, "
               "pg_catalog.array_to_string(allocators::pg_catalog.oid[], ','), reset, time_zone "
               "FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1"
             : "SELECT format, gapless, start_value, increment, on_overflow, target_table::pg_catalog.oid, "
               "target_column::pg_catalog.text, '0' "
               "FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1",
        {Param::text(key)}, Snap::latest, true);
    if (n == 0) unknown_series(key);
    def->name = key;
    def->tpl = core::Template::parse(*spi.get_text(0, 1));
    def->gapless = spi.get_bool(0, 2).value_or(true);
    def->start = spi.get_int8(0, 3).value_or(1);
    def->increment = (int32_t)spi.get_int8(0, 4).value_or(1);
    def->overflow_error = spi.get_text(0, 5).value_or("widen") == "error";
    def->target_table = spi.get_oid(0, 6).value_or(InvalidOid);
    def->target_column = spi.get_text(0, 7).value_or("");
    std::string roles = spi.get_text(0, 8).value_or("");
    for (size_t pos = 0; pos < roles.size();) {
      size_t comma = roles.find(',', pos);
      if (comma == std::string::npos) comma = roles.size();
      def->allocators.push_back((Oid)std::stoul(roles.substr(pos, comma - pos)));
      pos = comma + 1;
    }
    if (v1_1) {
      def->reset = spi.get_text(0, 9);
      def->time_zone = spi.get_text(0, 10);
    }
  }
  if (!v1_1)
    def->tpl.use_1_0_period();
  else if (def->reset)
    def->tpl.set_reset(core::period_from_reset(*def->reset));
  if (def->time_zone) def->tz = load_time_zone(*def->time_zone);
  series_cache[key] = def;
  return def;
}

// The date an allocation is for: `at` as passed, or today in the series' time zone (the
// session's when it has none).
int32_t allocation_date(const SeriesDef& s, int32_t at) { return at_not_passed(at) ? today_in(s.tz) : at; }

// What a call does with a series: allocators and readers of counters need the
// allocation right; administration functions are guarded by EXECUTE instead.
enum class Access { allocate, admin };

// Raises 42501 unless `user` may allocate from the series: PUBLIC or one of the roles
// it was granted to, or the extension's owner (superusers included) that administers it.
void require_allocate(const SeriesDef& s, Oid user) {
  for (Oid r : s.allocators)
    if (r == InvalidOid) return;
  Oid owner = catalog().owner;
  const std::vector<Oid>& roles = s.allocators;
  bool allowed = pg_call([&] {
    if (has_privs_of_role(user, owner)) return true;
    for (size_t i = 0; i < roles.size(); i++)
      if (has_privs_of_role(user, roles[i])) return true;
    return false;
  });
  if (allowed) return;
  const char* role = pg_call([&] { return (const char*)GetUserNameFromId(user, true); });
  std::string who = role ? role : std::to_string(user);
  fail(core::sqlstate::insufficient_privilege, "permission denied for series \"" + s.name + "\"",
       "Role \"" + who + "\" may not allocate from it.",
       "The extension's owner can grant it with SELECT seqguard_grant_allocate('" + s.name + "', '" + who + "').");
}

std::shared_ptr<const SeriesDef> load_series(std::string_view name, Access access) {
  std::string key(name);
  Oid user = GetUserId();
  auto lk = series_locks.find(key);
  if (lk == series_locks.end()) {
    // A role without the right must not even queue on the series: check first.
    if (access == Access::allocate) require_allocate(*find_series(key), user);
    // Allocators share the series lock, so seqguard_drop_series() waits for them and
    // they never write counters for a series that no longer exists. Once per transaction.
    lock_object(LockSpace::series, lock_hash(name), ShareLock);
    // The series table too, even when the definition is cached: the update to 1.1
    // rewrites counters' periods under an exclusive lock on it, and taking this lock
    // delivers the invalidation that makes this backend drop its 1.0 definitions.
    Oid relid = series_table_relid();
    if (relid != InvalidOid) pg_try([&] { LockRelationOid(relid, AccessShareLock); });
    lk = series_locks.emplace(key, SeriesLock{GetCurrentTransactionNestLevel(), InvalidOid}).first;
  }
  // The lock wait may have let a new definition in: check again with the one in force.
  std::shared_ptr<const SeriesDef> def = find_series(key);
  if (access == Access::allocate && lk->second.allowed_user != user) {
    require_allocate(*def, user);
    lk->second.allowed_user = user;
  }
  return def;
}

// Counter keys live in a btree index (at most about 2,700 bytes per entry) and are
// written at commit: a key that cannot be stored must be refused at the call, not at
// COMMIT, where the whole transaction would be lost.
constexpr size_t kMaxScopeBytes = 1024;
void check_scope(std::string_view scope) {
  if (scope.size() > kMaxScopeBytes)
    fail(core::sqlstate::invalid_parameter_value, "scope is too long (" + std::to_string(scope.size()) + " bytes)",
         {}, "A scope is at most " + std::to_string(kMaxScopeBytes) + " bytes.");
}

int64_t sequence_max(const SeriesDef& s) {
  if (!s.overflow_error || s.tpl.seq_width() == 0) return INT64_MAX;
  int64_t max = 1;
  for (int i = 0; i < s.tpl.seq_width(); i++) max *= 10;
  return max - 1;
}

std::string fast_sequence_name(const std::string& key) {
  char buf[32];
  snprintf(buf, sizeof buf, "counter_%016llx", (unsigned long long)lock_hash(key));
  return buf;
}

// seqguard.counters, read and written directly (direct.hpp): a counter must behave like
// a sequence, so that two SERIALIZABLE transactions using different counters never fail
// each other, and one that waited for a counter never gets a serialization failure.
constexpr const char* kCounterColumns[] = {"series", "scope", "period", "last_value", "sequence_name"};
constexpr int kCounterNatts = 5;

class CounterTable : public direct::Table {
 public:
  explicit CounterTable(LOCKMODE mode) : direct::Table("counters", kCounterColumns, kCounterNatts, 3, mode) {}
};

struct CounterRow {
  std::optional<int64_t> last_value;
  std::optional<std::string> sequence_name;
  ItemPointerData tid;
};

// A counter row's value columns, as read.
void set_counter_values(CounterRow& row, const Datum* values, const bool* nulls) {
  row.last_value = nulls[3] ? std::nullopt : std::optional<int64_t>(DatumGetInt64(values[3]));
  row.sequence_name = nulls[4] ? std::nullopt : std::optional<std::string>(NameStr(*DatumGetName(values[4])));
}

// `how` is Probe::writer under the counter's lock, Probe::committed without it.
std::optional<CounterRow> read_counter_row(const std::string& series, std::string_view scope,
                                           std::string_view period, direct::Probe how,
                                           bool* busy = nullptr) {
  CounterTable t(AccessShareLock);
  Datum values[kCounterNatts];
  bool nulls[kCounterNatts];
  CounterRow row;
  direct::Found found = pg_call([&] {
    // In the index's column order, with each column's collation: ScanKeyInit gives the
    // C collation (right for catalogs), and a descent that compares other than the index
    // is ordered (1.0's tables in an en_US or ICU database) can miss a counter that
    // exists, whose creation then meets 23505.
    Datum text[3] = {PointerGetDatum(cstring_to_text_with_len(series.data(), (int)series.size())),
                     PointerGetDatum(cstring_to_text_with_len(scope.data(), (int)scope.size())),
                     PointerGetDatum(cstring_to_text_with_len(period.data(), (int)period.size()))};
    Relation index = t.index();
    ScanKeyData keys[3];
    for (int i = 0; i < 3; i++) {
      AttrNumber attno = index->rd_index->indkey.values[i];  // 1..3: checked by Table
      ScanKeyInit(&keys[i], attno, BTEqualStrategyNumber, F_TEXTEQ, text[attno - 1]);
      keys[i].sk_collation = index->rd_indcollation[i];
    }
    return direct::probe(t, keys, 3, how, values, nulls, &row.tid);
  });
  if (busy != nullptr) *busy = found == direct::Found::busy;
  if (found != direct::Found::row) return std::nullopt;
  set_counter_values(row, values, nulls);
  return row;
}

// Whether a counter row's columns (as read) are the key's.
bool is_counter(const Datum* values, const bool* nulls, std::string_view series, std::string_view scope,
                std::string_view period) {
  std::string_view key[3] = {series, scope, period};
  for (int i = 0; i < 3; i++) {
    if (nulls[i]) return false;
    text* t = DatumGetTextPP(values[i]);
    if (std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) != key[i]) return false;
  }
  return true;
}

// The columns of a counter row.
void counter_values(const std::string& series, std::string_view scope, std::string_view period,
                    std::optional<int64_t> last_value, const std::string* sequence_name, Datum* values,
                    bool* nulls) {
  const bool n[kCounterNatts] = {false, false, false, !last_value.has_value(), sequence_name == nullptr};
  std::copy(n, n + kCounterNatts, nulls);
  pg_try([&] {
    values[0] = PointerGetDatum(cstring_to_text_with_len(series.data(), (int)series.size()));
    values[1] = PointerGetDatum(cstring_to_text_with_len(scope.data(), (int)scope.size()));
    values[2] = PointerGetDatum(cstring_to_text_with_len(period.data(), (int)period.size()));
    values[3] = last_value ? Int64GetDatum(*last_value) : 0;
    if (sequence_name != nullptr) {
      Name n = (Name)palloc0(NAMEDATALEN);
      namestrcpy(n, sequence_name->c_str());
      values[4] = NameGetDatum(n);
    } else {
      values[4] = 0;
    }
  });
}

// Inserts a counter row, or updates the one at `tid`.
void write_counter_row(const std::string& series, std::string_view scope, std::string_view period,
                       std::optional<int64_t> last_value, const std::string* sequence_name,
                       const ItemPointerData* tid, ItemPointerData* inserted = nullptr) {
  CounterTable t(RowExclusiveLock);
  Datum values[kCounterNatts];
  bool nulls[kCounterNatts];
  counter_values(series, scope, period, last_value, sequence_name, values, nulls);
  direct::write(t, tid, values, nulls, inserted);
}

// Inserts the row of a gapless counter believed new (direct::insert_if_new): every new
// gapless counter's row is inserted this way, as a look-up before it can miss a row
// (see write_counter), and without one the primary key is the only check. `looked`: a
// look-up came first, so a table the insert cannot check (cannot_check) gets a plain
// insert instead; without one the caller must look first.
direct::Inserted insert_new_counter_row(const std::string& series, std::string_view scope, std::string_view period,
                                        std::optional<int64_t> last_value, ItemPointerData* inserted,
                                        bool looked) {
  CounterTable t(RowExclusiveLock);
  Datum values[kCounterNatts];
  bool nulls[kCounterNatts];
  counter_values(series, scope, period, last_value, nullptr, values, nulls);
  direct::Inserted r = direct::insert_if_new(t, values, nulls, inserted);
  if (r != direct::Inserted::cannot_check || !looked) return r;
  direct::write(t, nullptr, values, nulls, inserted);
  return direct::Inserted::yes;
}

// Writes a gapless counter's next number over the row version at `tid`, waiting as
// UPDATE does while another transaction holds it; false when that version was changed
// meanwhile (nothing written: take the counter the usual way).
bool update_counter_row(const std::string& series, std::string_view scope, std::string_view period,
                        std::optional<int64_t> last_value, ItemPointerData* tid) {
  CounterTable t(RowExclusiveLock);
  Datum values[kCounterNatts];
  bool nulls[kCounterNatts];
  counter_values(series, scope, period, last_value, nullptr, values, nulls);
  return direct::update_row(t, tid, values, nulls) == direct::Locked::yes;
}

// Takes a gapless counter for this transaction: locks its row as SELECT ... FOR UPDATE
// would, creating the row first when the counter is new. A transaction that finds the
// counter taken waits for the holder's transaction to end (XactLockTableWait, through
// the row's lock). Nothing stays in the shared lock table, so one transaction may take
// any number of counters with stock settings.
//
// Who gets a free counter: a session that finds it free takes it at once, as with row
// locks, rather than it being handed to a sleeping waiter (with cheap commits the hand-off
// is what limits throughput). Sessions that find it taken line up for a place in the
// queue lock (LockSpace::counter_queue) and only the first in line waits on the row: when
// the holder commits, one waiter wakes, not all of them (with 16 sessions, waking every
// waiter to find the row taken again cost more than half the rate with fsync on). The
// first in line keeps its place while it holds the counter, to the end of its
// transaction (keep_place_in_line), so that its commit hands the place to the next.
// With synchronous_commit = off there is no line (line_up): a session waits on the row
// as SELECT ... FOR UPDATE does, where PostgreSQL's tuple lock lets one waiter at a
// time wait on the holder. All these waits are heavyweight waits: lock_timeout,
// cancellation and deadlock detection apply.
//
// A row its holder is updating (the value written at commit, while the commit's WAL is
// flushed, or at once by take_by_writing) is a taken counter like any other: the
// look-up returns it (Probe::locker) and the session lines up (or waits on the row,
// with synchronous_commit = off). Waiting
// on the updating transaction itself instead put every session that arrived during a
// commit's flush outside the line, all woken by that commit.
//
// A new counter's row is inserted under the counter's heavyweight lock, held only until
// the row is in: with `defer`, this returns nullopt still holding it (and `*took` says
// whether this call took it), so that the allocation inserts the row with its first
// number, one write instead of an insert and an update at commit.
std::optional<CounterRow> lock_counter_row(const std::string& series, std::string_view scope,
                                           std::string_view period, const std::string& key, bool defer = false,
                                           bool* took = nullptr, bool* unchecked = nullptr) {
  uint64_t hash = lock_hash(key);
  bool queued = false;      // this call holds a place in line
  bool queue_held = false;  // ... that the transaction held before it
  auto leave_queue = [&] {
    if (queued && !queue_held) unlock_object(LockSpace::counter_queue, hash, ExclusiveLock);
    queued = false;
  };
  // Inserts the row of a new counter under its creation lock (`held`: this transaction
  // held that lock before), then gives the lock back unless it is one of those kept.
  // Empty when the row turned out to exist (the lock is then given back as well): look
  // again.
  auto create = [&](bool held) -> std::optional<CounterRow> {
    CounterRow created{std::nullopt, std::nullopt, {}};
    if (insert_new_counter_row(series, scope, period, std::nullopt, &created.tid, true) != direct::Inserted::yes) {
      if (!held) unlock_object(LockSpace::counter, hash, ExclusiveLock);
      return std::nullopt;
    }
    if (!held && give_back_creation_lock()) unlock_object(LockSpace::counter, hash, ExclusiveLock);
    leave_queue();
    return created;
  };
  // An import mostly finds a counter's creation lock free. Taken at once, it makes the
  // first look final, so that a new counter costs one index probe before its insert
  // instead of two (the look below, without it, can miss a row that is being created;
  // a row an update is moving to another page can be missed either way, and the
  // insert's own check finds it: insert_new_counter_row).
  // A lock someone holds, a row being written, or a counter this session has seen in use
  // (known_counters) goes the usual way below.
  bool held_before = false;
  std::optional<CounterRow> looked;
  bool have_look = false;
  if (known_counters.count(hash) == 0 && try_lock_object(LockSpace::counter, hash, ExclusiveLock, &held_before)) {
    if (defer && unchecked != nullptr && new_in_a_row >= kInsertFirstAfter) {
      *took = !held_before;
      *unchecked = true;
      return std::nullopt;
    }
    bool busy = false;
    looked = read_counter_row(series, scope, period, direct::Probe::locker, &busy);
    new_in_a_row = !looked && !busy ? new_in_a_row + 1 : 0;
    if (!looked && !busy && defer) {
      *took = !held_before;
      return std::nullopt;
    }
    if (!looked && !busy) {
      if (std::optional<CounterRow> created = create(held_before)) return created;
    } else {
      if (!held_before) unlock_object(LockSpace::counter, hash, ExclusiveLock);
      have_look = !busy;
    }
  }
  for (;;) {
    bool busy = false;
    std::optional<CounterRow> row =
        have_look ? std::move(looked) : read_counter_row(series, scope, period, direct::Probe::locker, &busy);
    have_look = false;
    if (busy) {
      // Another transaction is creating the row (it then holds the counter's heavyweight
      // lock, see kKeptCreationLocks, and waiting for that lock is a wait seqguard_waits
      // can name). Wait for that, then look again.
      bool held = lock_object(LockSpace::counter, hash, ExclusiveLock);
      if (!held) unlock_object(LockSpace::counter, hash, ExclusiveLock);
      row = read_counter_row(series, scope, period, direct::Probe::writer);
    }
    if (!row) {
      // A new counter: the counter's heavyweight lock for a moment, so that two sessions
      // create it once. Once the row is in, in progress, everyone else who looks it up
      // waits for this transaction (direct::probe), as a unique index insert would.
      bool held = lock_object(LockSpace::counter, hash, ExclusiveLock);
      bool busy_now = false;
      row = read_counter_row(series, scope, period, direct::Probe::sweeper, &busy_now);
      if (busy_now) {
        // Someone began writing the row since the look above: wait for them as above, not
        // holding this lock; nothing waits for another transaction while holding it (see
        // allocate: a holder's commit once took it, and such a wait was a deadlock).
        if (!held) unlock_object(LockSpace::counter, hash, ExclusiveLock);
        continue;
      }
      if (!row && defer) {
        *took = !held;
        leave_queue();
        return std::nullopt;
      }
      if (!row) {
        if (std::optional<CounterRow> created = create(held)) return created;
        continue;
      }
      if (!held) unlock_object(LockSpace::counter, hash, ExclusiveLock);
    }
    CounterTable t(RowShareLock);
    // The version read, or the row's latest when holders changed it since (a waiter's
    // usual case: followed along the update chain rather than looked up again, which
    // would walk that chain from the index entry's version on, on the hand-off's path).
    Datum values[kCounterNatts];
    bool nulls[kCounterNatts];
    direct::Locked got = direct::lock_row(t, &row->tid, queued || !line_up(), values, nulls);
    if (got == direct::Locked::busy) {
      queue_held = lock_object(LockSpace::counter_queue, hash, ExclusiveLock);
      queued = true;
      got = direct::lock_row(t, &row->tid, true, values, nulls);
    }
    // A key changed by hand (seqguard never does) makes the chain another counter's:
    // look again (the row locked stays locked to the transaction's end, harmlessly).
    if (got == direct::Locked::yes && !is_counter(values, nulls, series, scope, period)) continue;
    if (got == direct::Locked::yes) {
      set_counter_values(*row, values, nulls);
      if (queued && !queue_held && keep_place_in_line()) queued = false;
      leave_queue();
      if (known_counters.size() >= kMaxKnownCounters) known_counters.clear();
      known_counters.insert(hash);
      return *row;
    }
  }
}

Oid counter_sequence_oid(const std::string& name) {
  Oid schema = catalog().schema;
  return pg_call([&] {
    // The counter row was read with the newest committed state; the sequence it names
    // may have been created by a transaction that committed after this statement took
    // its catalog snapshot (seen under load: "sequence ... is missing").
    AcceptInvalidationMessages();
    InvalidateCatalogSnapshot();
    return get_relname_relid(name.c_str(), schema);
  });
}

void check_writable(const char* what) {
  pg_try([&] { PreventCommandIfReadOnly(what); });
}

// Creates seqguard.<seqname>, the sequence of a fast counter of `s`, readable by everyone
// (sequence values are no secret; seqguard_counters shows them). create_series() made
// sure that start fits under the maximum. A sequence needs MINVALUE < MAXVALUE: when
// start is the maximum itself ({seq:1} from 9), the floor goes one lower, which nextval
// never returns since it starts at start.
void create_counter_sequence(Spi& spi, const SeriesDef& s, const std::string& seqname) {
  std::string name = std::string("seqguard.") + pg_call([&] { return quote_identifier(seqname.c_str()); });
  int64_t max = sequence_max(s);
  int64_t min = s.start < max ? s.start : s.start - 1;
  char ddl[512];
  snprintf(ddl, sizeof ddl,
           "CREATE SEQUENCE %s AS pg_catalog.int8 INCREMENT BY %d MINVALUE %lld MAXVALUE %lld START WITH %lld",
           name.c_str(), s.increment, (long long)min, (long long)max, (long long)s.start);
  spi.execute_dynamic(ddl);
  spi.execute_dynamic("GRANT SELECT ON SEQUENCE " + name + " TO PUBLIC");
}

// Creates the sequence of a fast counter and its row; the caller holds the counter's lock
// and has read the row (if any) under it.
std::string create_fast_sequence(const SeriesDef& s, std::string_view scope, std::string_view period,
                                 const std::string& key, const std::optional<CounterRow>& row) {
  std::string seqname = fast_sequence_name(key);
  Spi spi;
  // A sequence of this name without a row naming it comes from a schema-only dump of a
  // database that used the counter (the sequences are not extension members, so
  // pg_dump --schema-only writes them, and the rows are data): it is this counter's,
  // and never behind a fresh one, so it is kept rather than failing with 42P07.
  if (counter_sequence_oid(seqname) == InvalidOid) create_counter_sequence(spi, s, seqname);
  write_counter_row(s.name, scope, period, std::nullopt, &seqname, row ? &row->tid : nullptr);
  return seqname;
}

// A new fast counter is created by a background worker in a transaction of its own that
// commits at once, so that the counter's lock is held for a moment, not until the end
// of the caller's transaction: a fast series never makes a second session wait for the
// first one's transaction. Each backend that needs one starts its own worker and keeps
// it while it keeps asking (an import that starts thousands of counters pays one
// worker start, not thousands); the worker leaves after kWorkerIdleMs without work.
// They talk through a DSM segment and each other's latches.
constexpr int kWorkerIdleMs = 1000;
enum ChannelState : uint32 { ch_idle = 0, ch_filling, ch_request, ch_done, ch_exiting };
enum WorkerStatus : uint32 { worker_created = 1, worker_no_series, worker_failed };
struct Channel {
  pg_atomic_uint32 state;
  Oid database;
  PGPROC* caller;
  int caller_pid;
  PGPROC* worker;  // set by the worker once it runs
  uint32 status;
  int sqlerrcode;
  char message[512];
  uint32 series_len, scope_len, period_len;
  char data[4096];  // series (<= 200 bytes), scope (<= 1024), period, back to back
};

dsm_segment* channel_seg = nullptr;
Channel* channel = nullptr;
BackgroundWorkerHandle* channel_worker = nullptr;

bool worker_running() {
  if (channel_worker == nullptr) return false;
  pid_t pid;
  BgwHandleStatus st = pg_call([&] { return GetBackgroundWorkerPid(channel_worker, &pid); });
  return st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED;
}

// The worker is gone (idle, or it failed): forget it, so the next request starts another.
void forget_worker() {
  if (channel_worker != nullptr) {
    BackgroundWorkerHandle* h = channel_worker;
    channel_worker = nullptr;
    pg_try([&] { pfree(h); });
  }
  channel->worker = nullptr;
  pg_atomic_write_u32(&channel->state, ch_idle);
}

bool start_worker() {
  if (channel_seg == nullptr) {
    dsm_segment* seg = pg_call([] {
      dsm_segment* s = dsm_create(sizeof(Channel), 0);
      dsm_pin_mapping(s);  // kept for the session, not the transaction
      return s;
    });
    channel_seg = seg;
    channel = (Channel*)dsm_segment_address(seg);
    memset(channel, 0, sizeof(Channel));
    pg_atomic_init_u32(&channel->state, ch_idle);
    channel->database = MyDatabaseId;
    channel->caller = MyProc;
    channel->caller_pid = MyProcPid;
  }
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "seqguard");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "seqguard_counter_worker");
  snprintf(worker.bgw_name, BGW_MAXLEN, "seqguard counter worker for PID %d", MyProcPid);
  snprintf(worker.bgw_type, BGW_MAXLEN, "seqguard counter worker");
  worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(channel_seg));
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorkerHandle* handle = nullptr;
  bool started = pg_call([&] {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    bool ok = RegisterDynamicBackgroundWorker(&worker, &handle);
    MemoryContextSwitchTo(old);
    return ok;
  });
  channel_worker = started ? handle : nullptr;
  return started;
}

// Waits (interruptibly) until the worker has moved the channel out of `busy`; false if
// the worker stopped first.
bool wait_for_worker(uint32 busy) {
  for (;;) {
    if (pg_atomic_read_u32(&channel->state) != busy) return true;
    int rc = pg_call([] {
      return WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
    });
    pg_try([] {
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    });
    if ((rc & WL_TIMEOUT) && !worker_running()) return pg_atomic_read_u32(&channel->state) != busy;
  }
}

// Returns whether the worker created the counter or found it created. False when no
// worker could run (no free slot, a standalone backend) or it could not see the series:
// the caller then creates the counter itself.
bool create_counter_in_worker(const Counter& c) {
  if (!IsUnderPostmaster || created_here.count(c.series->name) > 0) return false;
  const std::string& series = c.series->name;
  std::string_view scope = c.scope(), period = c.period();
  if (series.size() + scope.size() + period.size() > sizeof(Channel::data)) return false;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (channel != nullptr) {
      // A request that an interrupted call left behind: let it finish, drop its answer.
      uint32 st = pg_atomic_read_u32(&channel->state);
      if (st == ch_request && !wait_for_worker(ch_request)) forget_worker();
      if (pg_atomic_read_u32(&channel->state) == ch_done) pg_atomic_write_u32(&channel->state, ch_idle);
    }
    if (!worker_running()) {
      if (channel != nullptr) forget_worker();
      if (!start_worker()) return false;
    }
    uint32 expected = ch_idle;
    if (!pg_atomic_compare_exchange_u32(&channel->state, &expected, ch_filling)) {
      // The worker is leaving after its idle time: start another once it is gone.
      BackgroundWorkerHandle* h = channel_worker;
      if (h != nullptr) pg_call([&] { return WaitForBackgroundWorkerShutdown(h); });
      forget_worker();
      continue;
    }
    channel->series_len = (uint32)series.size();
    channel->scope_len = (uint32)scope.size();
    channel->period_len = (uint32)period.size();
    memcpy(channel->data, series.data(), series.size());
    memcpy(channel->data + series.size(), scope.data(), scope.size());
    memcpy(channel->data + series.size() + scope.size(), period.data(), period.size());
    channel->status = 0;
    pg_write_barrier();
    pg_atomic_write_u32(&channel->state, ch_request);
    PGPROC* w = channel->worker;
    if (w != nullptr) SetLatch(&w->procLatch);
    if (!wait_for_worker(ch_request)) {
      forget_worker();
      return false;
    }
    pg_read_barrier();
    uint32 status = channel->status;
    int code = channel->sqlerrcode;
    std::string message(channel->message);
    pg_atomic_write_u32(&channel->state, ch_idle);
    // A lock wait the worker gave up on (a transaction that holds the counter, or a
    // seqguard table, for long) is left to the caller, whose own lock_timeout applies.
    if (status == worker_failed && code != ERRCODE_LOCK_NOT_AVAILABLE) {
      char state[6];
      memcpy(state, unpack_sql_state(code), 6);
      fail(state, "could not create the counter of series \"" + series + "\": " + message);
    }
    return status == worker_created;
  }
  return false;
}

// Finds or creates the sequence of a fast counter.
Oid fast_sequence(Counter& c, const std::string& key) {
  auto lookup = [&](direct::Probe how) -> std::optional<CounterRow> {
    return read_counter_row(c.series->name, c.scope(), c.period(), how);
  };
  std::optional<CounterRow> row = lookup(direct::Probe::committed);
  if (!row || !row->sequence_name) {
    check_writable("next_formatted_id()");
    if (create_counter_in_worker(c)) row = lookup(direct::Probe::committed);
  }
  if (!row || !row->sequence_name) {
    // In this transaction, holding the counter's lock to its end: two sessions that
    // start the counter at once create it once.
    lock_object(LockSpace::counter, lock_hash(key), ExclusiveLock);
    row = lookup(direct::Probe::writer);
    if (!row || !row->sequence_name) {
      std::string created = create_fast_sequence(*c.series, c.scope(), c.period(), key, row);
      row = CounterRow{std::nullopt, created, {}};
    }
  }
  std::string seqname = *row->sequence_name;
  pg_try([] { CommandCounterIncrement(); });
  Oid oid = counter_sequence_oid(seqname);
  if (oid == InvalidOid)
    fail(core::sqlstate::object_not_in_prerequisite_state,
         "sequence seqguard." + seqname + " of series \"" + c.series->name + "\" is missing",
         "Its counter row was copied without the sequence (a logical-replication subscriber or a data-only "
         "restore).",
         "SELECT seqguard_sync_all(); re-creates it past the numbers stored in the series' columns.");
  return oid;
}

// The worker's side: runs in the worker's transaction, as the bootstrap superuser; its
// queries switch to the extension's owner like every backend's (Spi).
uint32 worker_create(const Channel* req) {
  std::string series(req->data, req->series_len);
  std::string scope(req->data + req->series_len, req->scope_len);
  std::string period(req->data + req->series_len + req->scope_len, req->period_len);
  std::shared_ptr<const SeriesDef> sp;
  try {
    sp = find_series(series);
  } catch (const core::Error& e) {
    if (std::string(e.sqlstate()) == core::sqlstate::undefined_object) return worker_no_series;
    throw;
  }
  if (sp->gapless) return worker_no_series;
  std::string key = counter_key(series, scope, period);
  lock_object(LockSpace::counter, lock_hash(key), ExclusiveLock);
  std::optional<CounterRow> row = read_counter_row(series, scope, period, direct::Probe::writer);
  if (!row || !row->sequence_name) create_fast_sequence(*sp, scope, period, key, row);
  return worker_created;
}

void evict_counters(const Counter* keep);

int64_t advance(const SeriesDef& s, const std::optional<int64_t>& last);

// With synchronous_commit = off, a counter this session has seen in use is taken the
// way UPDATE counters SET v = v + 1 takes it: its next number is written over the row
// at once, rather than the row locked now and written at commit (one heap operation and
// WAL record per transaction instead of two: 10-15% more throughput at 4 to 64
// sessions). A session that finds the counter taken waits in that write, as UPDATE
// does, and then takes it the usual way. With fsync on, sessions line up for a counter
// instead (lock_counter_row), and this is not used. The row as written (its last_value
// the number drawn), or empty: nothing was taken.
std::optional<CounterRow> take_by_writing(const SeriesDef& s, std::string_view scope, std::string_view period,
                                          const std::string& key) {
  if (line_up() || known_counters.count(lock_hash(key)) == 0) return std::nullopt;
  std::optional<CounterRow> row = read_counter_row(s.name, scope, period, direct::Probe::locker);
  if (!row || row->sequence_name) return std::nullopt;
  int64_t next = advance(s, row->last_value);
  if (s.overflow_error && s.tpl.overflows(next)) return std::nullopt;  // the allocation reports it
  if (!update_counter_row(s.name, scope, period, next, &row->tid)) return std::nullopt;
  row->last_value = next;
  return row;
}

// Returns the counter of (series, scope, period) for this transaction. With `acquire`,
// a gapless counter is locked and its committed value loaded, and a fast counter's
// sequence is found or created; without it the entry may be bare (created_level 0).
Counter& get_counter(const std::shared_ptr<const SeriesDef>& sp, std::string_view scope, std::string_view period,
                     bool acquire, bool allocating = false) {
  const SeriesDef& s = *sp;
  if (counters_schema == InvalidOid) counters_schema = catalog().schema;
  auto [it, added] = counters.try_emplace(counter_key(s.name, scope, period));
  Counter& c = it->second;
  if (added) {
    c.series = keep_series(sp);
    c.key = &it->first;
    c.created_level = 0;
    if (counters.size() > evict_at) evict_counters(&c);
  }
  if (c.created_level > 0 || !acquire) return c;
  const std::string& key = *c.key;
  int level = GetCurrentTransactionNestLevel();
  if (!s.gapless) {
    auto known = fast_sequences.find(key);
    c.sequence = known != fast_sequences.end() ? known->second : fast_sequence(c, key);
    c.created_level = level;
    return c;
  }
  check_writable("next_formatted_id()");
  bool took = false, unchecked = false;
  std::optional<CounterRow> row;
  if (allocating) row = take_by_writing(s, scope, period, key);
  c.drawn = row.has_value();
  if (!c.drawn) row = lock_counter_row(s.name, scope, period, key, allocating, &took, &unchecked);
  c.creating = !row;
  c.unchecked = unchecked;
  c.release_creation_lock = took;
  c.in_table = row.has_value();
  if (row) c.tid = row->tid;
  c.last = row ? row->last_value : std::nullopt;
  c.dirty = false;
  c.saves.clear();
  c.created_level = level;
  return c;
}

// Before a subtransaction changes a counter it did not lock itself, remember the value
// to go back to if it rolls back.
void remember(Counter& c) {
  int level = GetCurrentTransactionNestLevel();
  if (level > c.created_level && (c.saves.empty() || c.saves.back().level < level))
    c.saves.push_back(Save{level, c.last, c.dirty});
}

[[noreturn]] void overflow(const SeriesDef& s, int64_t value) {
  fail(core::sqlstate::numeric_value_out_of_range,
       "number " + std::to_string(value) + " does not fit series \"" + s.name + "\": its template allows at most " +
           std::to_string(s.tpl.seq_width()) + (s.tpl.seq_width() == 1 ? " digit" : " digits"),
       "The series was created with on_overflow => 'error'; nothing was consumed.");
}

[[noreturn]] void bigint_end(const SeriesDef& s) {
  fail(core::sqlstate::numeric_value_out_of_range,
       "series \"" + s.name + "\" reached the largest bigint; nothing was consumed");
}

int64_t advance(const SeriesDef& s, const std::optional<int64_t>& last) {
  if (!last) return s.start;
  int64_t next;
  if (__builtin_add_overflow(*last, (int64_t)s.increment, &next)) bigint_end(s);
  return next;
}

int64_t allocate(Counter& c) {
  const SeriesDef& s = *c.series;
  if (!s.gapless) {
    AsOwner as_owner;
    Oid seq = c.sequence;
    int64_t v = 0;
    try {
      v = pg_call([&] { return DatumGetInt64(DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(seq))); });
    } catch (const PgError& e) {
      // A fast counter's sequence ends where the series does: at the largest number its
      // digits allow (on_overflow => 'error') or at the largest bigint. Reaching the end
      // consumes nothing; the error names the series, not the internal sequence.
      if (e.sqlerrcode() != ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED) throw;
      if (s.overflow_error && sequence_max(s) < INT64_MAX) overflow(s, sequence_max(s) + 1);
      bigint_end(s);
    }
    fast_last[seq] = v;
    return v;
  }
  if (c.drawn) {
    c.drawn = false;
    return *c.last;
  }
  int64_t next = advance(s, c.last);
  if (s.overflow_error && s.tpl.overflows(next)) overflow(s, next);
  remember(c);
  if (c.creating) {
    // The row goes in with its first number: one write. Its insert checks the key itself
    // (insert_new_counter_row), also where nobody looked for the row first (unchecked).
    for (;;) {
      direct::Inserted r = insert_new_counter_row(s.name, c.scope(), c.period(), next, &c.tid, !c.unchecked);
      c.unchecked = false;
      if (r == direct::Inserted::yes) break;
      // It exists after all, or another transaction is writing it: look it up the usual
      // way and number on from it as from any counter in use (or insert it after all,
      // when its writer rolled back). The creation lock this call took is given back
      // first: the look-up may wait for the counter's holder, and nothing waits for a
      // holder while holding that lock (once the holder's commit took it: a deadlock).
      new_in_a_row = 0;
      if (c.release_creation_lock) unlock_object(LockSpace::counter, lock_hash(*c.key), ExclusiveLock);
      bool took_again = false;
      std::optional<CounterRow> row = lock_counter_row(s.name, c.scope(), c.period(), *c.key, true, &took_again);
      c.release_creation_lock = took_again;
      if (row) {
        c.creating = false;
        c.in_table = true;
        c.tid = row->tid;
        c.last = row->last_value;
        return allocate(c);
      }
    }
    c.creating = false;
    c.in_table = true;
    if (c.release_creation_lock && give_back_creation_lock())
      unlock_object(LockSpace::counter, lock_hash(*c.key), ExclusiveLock);
    c.last = next;
    return next;  // the row holds it: nothing to write at commit
  }
  c.last = next;
  c.dirty = true;
  return next;
}

// A counter as stored and committed, read without its lock: the last value issued (none
// yet: nullopt) and the value the next allocation would get.
struct Stored {
  std::optional<int64_t> last;
  std::optional<int64_t> sequence_next;  // fast counters: what nextval would return
  int64_t next(const SeriesDef& s) const { return sequence_next ? *sequence_next : advance(s, last); }
};

Stored read_stored(const SeriesDef& s, std::string_view scope, const std::string& period) {
  std::optional<CounterRow> row = read_counter_row(s.name, scope, period, direct::Probe::committed);
  if (s.gapless || !row || !row->sequence_name) {
    std::optional<int64_t> last = row ? row->last_value : std::nullopt;
    return Stored{last, std::nullopt};
  }
  Oid seq = counter_sequence_oid(*row->sequence_name);
  if (seq == InvalidOid) return Stored{std::nullopt, std::nullopt};
  Spi spi;
  SequenceState st = read_sequence(spi, seq);
  return Stored{st.is_called ? std::optional<int64_t>(st.last_value) : std::nullopt, st.next_value()};
}

// The gapless counter this transaction holds (locked and loaded), if any.
const Counter* held_counter(const SeriesDef& s, std::string_view scope, const std::string& period) {
  if (!s.gapless) return nullptr;
  auto it = counters.find(counter_key(s.name, scope, period));
  return it != counters.end() && it->second.created_level > 0 ? &it->second : nullptr;
}

bool any_dirty() noexcept {
  for (auto& [key, c] : counters)
    if (c.dirty) return true;
  return false;
}

// Writes a counter's value to its row.
void write_counter(Counter& c) {
  // Under the row's lock nobody else has written the row since we read it, so the
  // update never waits. No creation lock around it: a look-up without any lock (a
  // dirty-snapshot index scan) can miss a row whose update moved it to another page (the
  // old version is dead by the time it is checked, and the new version's index entry
  // arrived after the scan read its page), but a session that found nothing inserts the
  // row with insert_new_counter_row, whose unique check sees the new version and sends it
  // back to the look-up (found by the benchmark: 64 sessions, fsync off, 23505 on
  // counters_pkey, when creators inserted with a plain unique check).
  if (c.in_table) {
    if (!update_counter_row(c.series->name, c.scope(), c.period(), c.last, &c.tid))
      fail(core::sqlstate::internal_error,
           "row of counter \"" + c.series->name + "\" changed while this transaction held it");
  } else {
    write_counter_row(c.series->name, c.scope(), c.period(), c.last, nullptr, nullptr, &c.tid);
  }
  c.dirty = false;
  c.in_table = true;
}

void write_counters() {
  for (auto& [key, c] : counters)
    if (c.dirty) write_counter(c);
}

// Lets go of the entries of counters whose row says all there is to know (see
// kMaxCountersInMemory), except `keep`, the entry the caller is filling in.
void evict_counters(const Counter* keep) {
  last_hit.counter = nullptr;
  const bool top = GetCurrentTransactionNestLevel() == 1;
  for (auto it = counters.begin(); it != counters.end();) {
    Counter& c = it->second;
    bool gapless = c.series->gapless;
    if (&c == keep || c.creating || !c.saves.empty() || (gapless && c.created_level > 0 && !c.in_table)) {
      ++it;
      continue;
    }
    if (c.dirty) {
      if (!top) {
        ++it;
        continue;
      }
      write_counter(c);
    }
    if (gapless && c.created_level > 0) evicted_series.insert(c.series->name);
    it = counters.erase(it);
  }
  evict_at = std::max(kMaxCountersInMemory, 2 * counters.size());
}

void on_xact(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT: {
      if (!any_dirty()) return;
      // Errors here abort the transaction, as they must: its IDs were never stored.
      bool failed = false;
      try {
        // DROP EXTENSION after drawing: the counters went with the extension's tables,
        // and a re-created extension starts afresh; writing them anywhere would be wrong.
        if (catalog_dropped()) {
          counters.clear();
        } else {
          PushActiveSnapshot(GetTransactionSnapshot());
          write_counters();
          PopActiveSnapshot();
        }
      } catch (...) {
        failed = true;
        stash_current_exception();
      }
      if (failed) raise_stashed_exception();
      return;
    }
    case XACT_EVENT_PRE_PREPARE: {
      bool holds = !evicted_series.empty();
      for (auto& [key, c] : counters) holds = holds || (c.series->gapless && c.created_level > 0);
      if (holds)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot PREPARE a transaction that has allocated gapless seqguard IDs"),
                        errdetail("A gapless counter is written and unlocked at commit; a prepared "
                                  "transaction would hold it for an unbounded time.")));
      return;
    }
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
      // What a committed transaction used is committed too: its fast counters' sequences
      // can be remembered for the next transactions.
      try {
        for (auto& [key, c] : counters)
          if (c.sequence != InvalidOid && c.created_level > 0) fast_sequences[key] = c.sequence;
      } catch (...) {
        fast_sequences.clear();  // only a cache
      }
      forget_transaction_state();
      return;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      forget_transaction_state();
      return;
    default:
      return;
  }
}

void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (counters.empty() && series_locks.empty() && dropped.empty()) return;
  int level = GetCurrentTransactionNestLevel();
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    last_hit.counter = nullptr;
    // Newest drops first: a counter set aside twice (drop, re-create, drop) comes back
    // as it was before the first drop that rolled back.
    while (!dropped.empty() && dropped.back().level >= level) {
      if (dropped.back().schema != counters_schema) {
        // The extension this transaction dropped and re-created is back as it was.
        counters.clear();
        counters_schema = dropped.back().schema;
        reset_catalog_cache();
      }
      for (auto& [key, c] : dropped.back().counters) {
        auto back = counters.insert_or_assign(key, std::move(c)).first;
        back->second.key = &back->first;
      }
      dropped.pop_back();
    }
    for (auto it = series_locks.begin(); it != series_locks.end();)
      it = it->second.level >= level ? series_locks.erase(it) : std::next(it);
    for (auto it = counters.begin(); it != counters.end();) {
      Counter& c = it->second;
      if (c.created_level >= level) {
        // Its lock (or its new sequence) went away with the subtransaction.
        it = counters.erase(it);
        continue;
      }
      while (!c.saves.empty() && c.saves.back().level >= level) {
        c.last = c.saves.back().last;
        c.dirty = c.saves.back().dirty;
        c.saves.pop_back();
      }
      ++it;
    }
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    for (auto& [name, lock] : series_locks)
      if (lock.level == level) lock.level = level - 1;
    for (Dropped& d : dropped)
      if (d.level == level) d.level = level - 1;
    for (auto& [key, c] : counters) {
      if (c.created_level == level) c.created_level = level - 1;
      if (!c.saves.empty() && c.saves.back().level == level) {
        bool parent_saved = c.saves.size() >= 2 && c.saves[c.saves.size() - 2].level == level - 1;
        if (parent_saved || level - 1 <= c.created_level)
          c.saves.pop_back();
        else
          c.saves.back().level = level - 1;
      }
    }
  }
}

// `at` comes back as the date the call is for.
Counter& counter_for_call(std::string_view series, std::string_view scope, int32_t& at, bool lock) {
  Oid user = GetUserId();
  if (last_hit.counter != nullptr && last_hit.user == user && last_hit.series == series && last_hit.scope == scope &&
      (!lock || last_hit.counter->created_level > 0)) {
    int32_t date = allocation_date(*last_hit.counter->series, at);
    if (date == last_hit.date) {
      at = date;
      return *last_hit.counter;
    }
  }
  check_scope(scope);
  std::shared_ptr<const SeriesDef> sp = load_series(series, Access::allocate);
  const SeriesDef& s = *sp;
  at = allocation_date(s, at);
  std::string period = s.tpl.period_key(to_core_date(at));
  Counter& c = get_counter(sp, std::string(scope), period, lock, lock);
  if (lock || !s.gapless) {
    last_hit.series.assign(series);
    last_hit.scope.assign(scope);
    last_hit.date = at;
    last_hit.user = user;
    last_hit.counter = &c;
  }
  return c;
}

// A definition changed in this transaction: nothing cached may stand for it any more.
void forget_definition(const std::string& name) {
  series_cache.erase(name);
  fast_sequences.clear();
  last_hit.counter = nullptr;
}

// The series is being dropped: its counters leave the transaction's working set (they
// are not written at commit, their rows are deleted) but are kept aside until the drop
// is known to stand, in case a savepoint rolls it back.
void set_aside_counters(const std::string& name) {
  forget_definition(name);
  Dropped d{GetCurrentTransactionNestLevel(), {}, counters_schema};
  for (auto it = counters.begin(); it != counters.end();) {
    if (it->second.series->name == name) {
      d.counters.insert(counters.extract(it++));
    } else {
      ++it;
    }
  }
  if (!d.counters.empty()) dropped.push_back(std::move(d));
}

}  // namespace

void counter_worker_main(Datum arg) {
  BackgroundWorkerUnblockSignals();
  // No resource owner yet: the mapping lasts until the worker exits.
  dsm_segment* seg = dsm_attach(DatumGetUInt32(arg));
  if (seg == nullptr) proc_exit(0);  // the requesting backend is gone
  auto* ch = (Channel*)dsm_segment_address(seg);
  BackgroundWorkerInitializeConnectionByOid(ch->database, InvalidOid, 0);
  // What this worker commits is used only by transactions that commit (and flush WAL)
  // after it; waiting long for a lock is the caller's business, not the worker's.
  SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);
  SetConfigOption("lock_timeout", "1000", PGC_USERSET, PGC_S_SESSION);
  SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);
  ch->worker = MyProc;
  pg_memory_barrier();
  for (;;) {
    if (pg_atomic_read_u32(&ch->state) == ch_request) {
      pg_read_barrier();
      uint32 status = worker_failed;
      MemoryContext ctx = CurrentMemoryContext;
      PG_TRY();
      {
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
        status = DatumGetUInt32(entry_guard([ch]() -> Datum { return UInt32GetDatum(worker_create(ch)); }));
        PopActiveSnapshot();
        CommitTransactionCommand();
      }
      PG_CATCH();
      {
        // Answer, then leave: the error is logged, and the caller starts a new worker.
        MemoryContextSwitchTo(ctx);
        ErrorData* edata = CopyErrorData();
        ch->sqlerrcode = edata->sqlerrcode;
        strlcpy(ch->message, edata->message ? edata->message : "unknown error", sizeof ch->message);
        ch->status = worker_failed;
        pg_write_barrier();
        pg_atomic_write_u32(&ch->state, ch_done);
        if (ch->caller->pid == ch->caller_pid) SetLatch(&ch->caller->procLatch);
        PG_RE_THROW();
      }
      PG_END_TRY();
      ch->status = status;
      pg_write_barrier();
      pg_atomic_write_u32(&ch->state, ch_done);
      if (ch->caller->pid == ch->caller_pid) SetLatch(&ch->caller->procLatch);
      continue;
    }
    int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kWorkerIdleMs, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    // Idle for a while, or the backend it serves is gone: leave, unless a request
    // arrived just now (the caller then sees "exiting" and starts a new worker).
    if ((rc & WL_TIMEOUT) || ch->caller->pid != ch->caller_pid) {
      uint32 expected = ch_idle;
      if (pg_atomic_compare_exchange_u32(&ch->state, &expected, ch_exiting)) proc_exit(0);
      if (ch->caller->pid != ch->caller_pid) proc_exit(0);
    }
  }
}

core::Date to_core_date(int32_t pg_date) {
  if (DATE_NOT_FINITE(pg_date))
    fail("22008", std::string("date must be finite, not ") + (DATE_IS_NOBEGIN(pg_date) ? "-infinity" : "infinity"));
  core::Date d = core::date_from_unix_days((int64_t)pg_date + 10957);
  if (d.year < 1 || d.year > 9999) fail("22008", "date out of range", "Only dates in the years 1 to 9999 can be numbered.");
  return d;
}

int64_t series_lock_key(std::string_view series) { return (int64_t)lock_hash(series); }

int64_t counter_lock_key(std::string_view series, std::string_view scope, std::string_view period) {
  return (int64_t)lock_hash(counter_key(series, scope, period));
}

std::string period_key_at(std::string_view format, const std::optional<std::string>& reset, int32_t at) {
  core::Template tpl = core::Template::parse(format);
  if (reset) tpl.set_reset(core::period_from_reset(*reset));
  return tpl.period_key(to_core_date(at));
}

void register_series_callbacks() {
  direct::register_callbacks();  // first: its callbacks must run after these
  RegisterXactCallback(on_xact, nullptr);
  RegisterSubXactCallback(on_subxact, nullptr);
  CacheRegisterRelcacheCallback(on_relcache_invalidation, 0);
}

int64_t next_value(std::string_view series, std::string_view scope, int32_t at, std::string* rendered) {
  Counter& c = counter_for_call(series, scope, at, true);
  int64_t v = allocate(c);
  if (rendered) {
    rendered->clear();
    c.series->tpl.render_to(*rendered, v, scope, to_core_date(at));
  }
  return v;
}

std::optional<int64_t> current_value(std::string_view series, std::string_view scope, int32_t at) {
  check_scope(scope);
  std::shared_ptr<const SeriesDef> sp = load_series(series, Access::allocate);
  const SeriesDef& s = *sp;
  std::string period = s.tpl.period_key(to_core_date(allocation_date(s, at)));
  if (s.gapless) {
    if (const Counter* c = held_counter(s, scope, period)) return c->last;
    return read_stored(s, scope, period).last;
  }
  // As currval(): what this session drew, whatever other sessions drew since.
  std::optional<CounterRow> row = read_counter_row(s.name, scope, period, direct::Probe::committed);
  if (!row || !row->sequence_name) return std::nullopt;
  auto it = fast_last.find(counter_sequence_oid(*row->sequence_name));
  if (it == fast_last.end()) return std::nullopt;
  return it->second;
}

std::string peek(std::string_view series, std::string_view scope, int32_t at) {
  check_scope(scope);
  std::shared_ptr<const SeriesDef> sp = load_series(series, Access::allocate);
  const SeriesDef& s = *sp;
  core::Date date = to_core_date(allocation_date(s, at));
  std::string period = s.tpl.period_key(date);
  const Counter* c = held_counter(s, scope, period);
  int64_t next = c ? advance(s, c->last) : read_stored(s, scope, period).next(s);
  return s.tpl.render(next, scope, date);
}

int64_t set_value(std::string_view series, int64_t value, std::string_view scope, int32_t at) {
  check_scope(scope);
  std::shared_ptr<const SeriesDef> sp = load_series(series, Access::admin);
  const SeriesDef& s = *sp;
  std::string period = s.tpl.period_key(to_core_date(allocation_date(s, at)));
  int64_t floor;
  if (__builtin_sub_overflow(s.start, (int64_t)s.increment, &floor)) floor = INT64_MIN;
  if (value < floor)
    fail(core::sqlstate::numeric_value_out_of_range,
         "value " + std::to_string(value) + " is below what series \"" + s.name +
             "\" can issue (start_value - increment = " + std::to_string(floor) + ")");
  int64_t next;
  if (__builtin_add_overflow(value, (int64_t)s.increment, &next))
    fail(core::sqlstate::numeric_value_out_of_range,
         "value " + std::to_string(value) + " leaves no next value for series \"" + s.name + "\"");
  Counter& c = get_counter(sp, std::string(scope), period, true);
  if (s.gapless) {
    remember(c);
    c.last = value;  // value == floor stores "start again at start_value"
    c.dirty = true;
    return value;
  }
  AsOwner as_owner;
  Oid seq = c.sequence;
  pg_try([&] {
    if (value == floor)
      DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(seq), Int64GetDatum(s.start), BoolGetDatum(false));
    else
      DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seq), Int64GetDatum(value));
  });
  return value;
}

// The template of a definition, checked as creation and alteration both need it.
core::Template validated_template(const SeriesOptions& o) {
  using core::sqlstate::invalid_parameter_value;
  core::Template tpl = core::Template::parse(o.format);
  // sync parses stored IDs back with the template, recursing once per part: bound the
  // template here so that no stored series can make a backend run out of stack.
  constexpr size_t kMaxFormat = 512, kMaxParts = 64;
  if (o.format.size() > kMaxFormat || tpl.parts().size() > kMaxParts)
    fail(invalid_parameter_value, "template of series \"" + o.name + "\" is too long",
         std::to_string(o.format.size()) + " bytes in " + std::to_string(tpl.parts().size()) + " parts; at most " +
             std::to_string(kMaxFormat) + " bytes and " + std::to_string(kMaxParts) + " parts.");
  if (o.increment <= 0)
    fail(invalid_parameter_value, "\"increment\" must be greater than zero, not " + std::to_string(o.increment));
  if (o.on_overflow != "widen" && o.on_overflow != "error")
    fail(invalid_parameter_value, "\"on_overflow\" must be 'widen' or 'error', not '" + o.on_overflow + "'");
  if (o.on_overflow == "error" && tpl.overflows(o.start_value))
    fail(invalid_parameter_value, "\"start_value\" " + std::to_string(o.start_value) + " does not fit the " +
                                      std::to_string(tpl.seq_width()) + (tpl.seq_width() == 1 ? " digit" : " digits") +
                                      " of \"" + o.format + "\"");
  if ((o.target_table == InvalidOid) != !o.target_column)
    fail(invalid_parameter_value, "\"target_table\" and \"target_column\" must be given together");
  if (o.target_table != InvalidOid) {
    AttrNumber att = pg_call([&] { return get_attnum(o.target_table, o.target_column->c_str()); });
    if (att == InvalidAttrNumber)
      fail(core::sqlstate::undefined_column, "column \"" + *o.target_column + "\" of relation " +
                                                 qualified_name(o.target_table) + " does not exist");
  }
  if (o.reset) tpl.set_reset(core::period_from_reset(*o.reset));
  return tpl;
}

void create_series(const SeriesOptions& o) {
  using core::sqlstate::invalid_parameter_value;
  if (o.name.empty() || o.name.size() > 200)
    fail(invalid_parameter_value, "series name must be 1 to 200 bytes long");
  core::Template tpl = validated_template(o);
  std::optional<std::string> time_zone;
  if (o.time_zone) time_zone = canonical_time_zone(*o.time_zone);
  Oid relid = series_table_relid();
  const bool v1_1 = series_table_is_1_1(relid);
  if (!v1_1 && tpl.uses_1_1_tokens())
    fail(core::sqlstate::feature_not_supported,
         "template \"" + o.format + "\" needs seqguard 1.1, and this database has seqguard 1.0",
         {}, "Run ALTER EXTENSION seqguard UPDATE first.");
  check_writable("seqguard_create_series()");
  lock_object(LockSpace::series, lock_hash(o.name), ExclusiveLock);
  Spi spi;
  if (v1_1) {
    if (spi.execute("SELECT format, gapless, start_value, increment, on_overflow, "
                    "target_table::pg_catalog.oid, target_column::pg_catalog.text, reset, time_zone "
                    "FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1",
                    {Param::text(o.name)}, Snap::latest, true) > 0) {
      // For migrations that run twice: the same definition again is no error.
      std::vector<std::string> differ;
      auto same = [&](const char* what, bool equal) {
        if (!equal) differ.push_back(what);
      };
      same("format", spi.get_text(0, 1) == o.format);
      same("gapless", spi.get_bool(0, 2) == o.gapless);
      same("start_value", spi.get_int8(0, 3) == o.start_value);
      same("increment", spi.get_int8(0, 4) == (int64_t)o.increment);
      same("on_overflow", spi.get_text(0, 5) == o.on_overflow);
      same("target_table", spi.get_oid(0, 6).value_or(InvalidOid) == o.target_table);
      same("target_column", spi.get_text(0, 7) == o.target_column);
      same("reset", spi.get_text(0, 8) == o.reset);
      same("time_zone", spi.get_text(0, 9) == time_zone);
      if (o.if_not_exists && differ.empty()) {
        std::string msg = "series \"" + o.name + "\" already exists, skipping";
        pg_try([&] { ereport(NOTICE, (errcode(ERRCODE_DUPLICATE_OBJECT), errmsg_internal("%s", msg.c_str()))); });
        return;
      }
      std::string list;
      for (const std::string& d : differ) list += (list.empty() ? "" : ", ") + d;
      fail(core::sqlstate::duplicate_object, "series \"" + o.name + "\" already exists",
           o.if_not_exists ? "It was created with a different " + list + "." : std::string(),
           o.if_not_exists ? "Drop it first, or give the same definition." : std::string());
    }
    spi.execute(
        "INSERT INTO seqguard.series (name, format, gapless, start_value, increment, on_overflow, "
        "target_table, target_column, reset, time_zone) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7::pg_catalog.oid::pg_catalog.regclass, $8::pg_catalog.name, $9, $10)",
        {Param::text(o.name), Param::text(o.format), Param::boolean(o.gapless), Param::int8(o.start_value),
         Param::int4(o.increment), Param::text(o.on_overflow),
         o.target_table != InvalidOid ? Param::oid(o.target_table) : Param::null(OIDOID),
         o.target_column ? Param::text(*o.target_column) : Param::null(TEXTOID),
         o.reset ? Param::text(*o.reset) : Param::null(TEXTOID),
         time_zone ? Param::text(*time_zone) : Param::null(TEXTOID)});
  } else {
    if (spi.execute("SELECT 1 FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1", {Param::text(o.name)},
                    Snap::latest, true) > 0)
      fail(core::sqlstate::duplicate_object, "series \"" + o.name + "\" already exists");
    spi.execute(
        "INSERT INTO seqguard.series (name, format, gapless, start_value, increment, on_overflow, "
        "target_table, target_column) VALUES ($1, $2, $3, $4, $5, $6, $7::pg_catalog.oid::pg_catalog.regclass, "
        "$8::pg_catalog.name)",
        {Param::text(o.name), Param::text(o.format), Param::boolean(o.gapless), Param::int8(o.start_value),
         Param::int4(o.increment), Param::text(o.on_overflow),
         o.target_table != InvalidOid ? Param::oid(o.target_table) : Param::null(OIDOID),
         o.target_column ? Param::text(*o.target_column) : Param::null(TEXTOID)});
  }
  forget_definition(o.name);
  invalidate_series_caches();
  created_here.insert(o.name);
}

void drop_series(const std::string& name) {
  check_writable("seqguard_drop_series()");
  lock_object(LockSpace::series, lock_hash(name), ExclusiveLock);
  set_aside_counters(name);
  invalidate_series_caches();
  Spi spi;
  if (spi.execute("DELETE FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1", {Param::text(name)},
                  Snap::latest) == 0)
    unknown_series(name);
  uint64_t n = spi.execute(
      "DELETE FROM seqguard.counters WHERE series OPERATOR(pg_catalog.=) $1 AND sequence_name IS NOT NULL "
      "RETURNING sequence_name::pg_catalog.text",
      {Param::text(name)}, Snap::latest);
  std::vector<std::string> sequences;
  for (uint64_t i = 0; i < n; i++) sequences.push_back(spi.get_text(i, 1).value_or(""));
  spi.execute("DELETE FROM seqguard.counters WHERE series OPERATOR(pg_catalog.=) $1", {Param::text(name)},
              Snap::latest);
  for (const std::string& seq : sequences) {
    char* quoted = pg_call([&] { return (char*)quote_identifier(seq.c_str()); });
    spi.execute_dynamic(std::string("DROP SEQUENCE IF EXISTS seqguard.") + quoted);
  }
}

void set_allocate(const std::string& series, const std::string& role, bool grant) {
  // PUBLIC is a keyword in GRANT, and no role may be called "public".
  bool is_public = pg_call([&] { return pg_strcasecmp(role.c_str(), "public") == 0; });
  Oid roleid = InvalidOid;
  if (!is_public) {
    roleid = pg_call([&] { return get_role_oid(role.c_str(), true); });
    if (roleid == InvalidOid) fail(core::sqlstate::undefined_object, "role \"" + role + "\" does not exist");
  }
  check_writable(grant ? "seqguard_grant_allocate()" : "seqguard_revoke_allocate()");
  Spi spi;
  // One statement, so that concurrent grants on one series each see the other's result.
  uint64_t n = spi.execute(
      grant ? "UPDATE seqguard.series SET allocators = pg_catalog.array_append("
              "pg_catalog.array_remove(allocators, $2::pg_catalog.oid::pg_catalog.regrole), "
              "$2::pg_catalog.oid::pg_catalog.regrole) WHERE name OPERATOR(pg_catalog.=) $1"
            : "UPDATE seqguard.series SET allocators = "
              "pg_catalog.array_remove(allocators, $2::pg_catalog.oid::pg_catalog.regrole) "
              "WHERE name OPERATOR(pg_catalog.=) $1",
      {Param::text(series), Param::oid(roleid)});
  if (n == 0) unknown_series(series);
  forget_definition(series);
  invalidate_series_caches();
}

std::optional<core::ParsedId> parse_series_id(const std::string& series, std::string_view id) {
  return find_series(series)->tpl.parse_id(id);
}

std::string quoted_ident(const std::string& s) {
  return pg_call([&] { return (const char*)quote_identifier(s.c_str()); });
}

void alter_series(const AlterOptions& o) {
  using core::sqlstate::invalid_parameter_value;
  check_writable("seqguard_alter_series()");
  Oid relid = series_table_relid();
  if (!series_table_is_1_1(relid))
    fail(core::sqlstate::feature_not_supported, "seqguard_alter_series() needs seqguard 1.1, and this database has 1.0",
         {}, "Run ALTER EXTENSION seqguard UPDATE first.");
  // This transaction's own numbers of the series are in memory, keyed the old way.
  bool allocated = evicted_series.count(o.name) > 0;
  for (auto& [key, c] : counters) allocated = allocated || (c.series->name == o.name && c.created_level > 0);
  if (allocated)
    fail("55006", "cannot alter series \"" + o.name + "\" in a transaction that has allocated from it", {},
         "Alter it in a transaction of its own.");
  // Allocators hold the series' ShareLock until their transactions end: wait for them,
  // and keep new ones out until this one commits, so that nobody draws across the change.
  lock_object(LockSpace::series, lock_hash(o.name), ExclusiveLock);
  Spi spi;
  if (spi.execute("SELECT format, gapless, start_value, increment, on_overflow, target_table::pg_catalog.oid, "
                  "target_column::pg_catalog.text, reset, time_zone FROM seqguard.series "
                  "WHERE name OPERATOR(pg_catalog.=) $1",
                  {Param::text(o.name)}, Snap::latest, true) == 0)
    unknown_series(o.name);
  const std::string old_format = *spi.get_text(0, 1);
  const bool old_gapless = spi.get_bool(0, 2).value_or(true);
  const int64_t start = spi.get_int8(0, 3).value_or(1);
  const std::optional<std::string> old_reset = spi.get_text(0, 8);

  SeriesOptions n;
  n.name = o.name;
  n.format = o.format.value_or(old_format);
  n.gapless = o.gapless.value_or(old_gapless);
  n.start_value = start;
  n.increment = o.increment.value_or((int32_t)spi.get_int8(0, 4).value_or(1));
  n.on_overflow = o.on_overflow.value_or(spi.get_text(0, 5).value_or("widen"));
  n.target_table = o.target_table.value_or(spi.get_oid(0, 6).value_or(InvalidOid));
  n.target_column = o.target_column ? o.target_column : spi.get_text(0, 7);
  if (o.target_table.has_value() != o.target_column.has_value())
    fail(invalid_parameter_value, "\"target_table\" and \"target_column\" must be given together");
  n.reset = o.reset ? o.reset : old_reset;
  n.time_zone = o.time_zone ? std::optional<std::string>(canonical_time_zone(*o.time_zone)) : spi.get_text(0, 9);

  core::Template tpl = validated_template(n);
  core::Template old_tpl = core::Template::parse(old_format);
  if (old_reset) old_tpl.set_reset(core::period_from_reset(*old_reset));
  // Counters are keyed by scope and period: a change of either would orphan them.
  if (tpl.period() != old_tpl.period()) {
    auto words = [](core::Period p) {
      return p == core::Period::none ? std::string("in one period forever")
                                     : std::string("per ") + core::period_name(p);
    };
    fail(invalid_parameter_value,
         "the new definition of series \"" + o.name + "\" would number " + words(tpl.period()) +
             ", its counters are kept " + words(old_tpl.period()),
         "A format or reset change must keep the period.");
  }
  if (tpl.has_scope() != old_tpl.has_scope())
    fail(invalid_parameter_value, "the new format of series \"" + o.name + "\" must " +
                                      (old_tpl.has_scope() ? "keep" : "not add") + " {scope}",
         "Counters are kept per scope; IDs of different scopes must stay apart.");

  // Every counter keeps its position: read them all (fast ones from their sequences).
  struct Position {
    std::string scope, period;
    std::optional<int64_t> last;
    std::optional<std::string> sequence;
  };
  std::vector<Position> positions;
  uint64_t rows = spi.execute(
      "SELECT scope, period, last_value, sequence_name::pg_catalog.text FROM seqguard.counters "
      "WHERE series OPERATOR(pg_catalog.=) $1 ORDER BY scope, period",
      {Param::text(o.name)}, Snap::latest, true);
  for (uint64_t i = 0; i < rows; i++)
    positions.push_back(Position{*spi.get_text(i, 1), *spi.get_text(i, 2), spi.get_int8(i, 3), spi.get_text(i, 4)});
  for (Position& p : positions) {
    if (!p.sequence) continue;
    Oid seq = counter_sequence_oid(*p.sequence);
    if (seq == InvalidOid) continue;  // never created here (a replicated row): nothing drawn
    SequenceState st = read_sequence(spi, seq);
    p.last = st.is_called ? std::optional<int64_t>(st.last_value) : std::nullopt;
  }
  if (n.on_overflow == "error")
    for (const Position& p : positions)
      if (p.last && tpl.overflows(*p.last))
        fail(invalid_parameter_value,
             "counter (scope '" + p.scope + "', period '" + p.period + "') of series \"" + o.name + "\" is at " +
                 std::to_string(*p.last) + ", which needs more digits than \"" + n.format + "\" gives");

  spi.execute(
      "UPDATE seqguard.series SET format = $2, gapless = $3, increment = $4, on_overflow = $5, "
      "target_table = $6::pg_catalog.oid::pg_catalog.regclass, target_column = $7::pg_catalog.name, reset = $8, "
      "time_zone = $9 WHERE name OPERATOR(pg_catalog.=) $1",
      {Param::text(n.name), Param::text(n.format), Param::boolean(n.gapless), Param::int4(n.increment),
       Param::text(n.on_overflow), n.target_table != InvalidOid ? Param::oid(n.target_table) : Param::null(OIDOID),
       n.target_column ? Param::text(*n.target_column) : Param::null(TEXTOID),
       n.reset ? Param::text(*n.reset) : Param::null(TEXTOID),
       n.time_zone ? Param::text(*n.time_zone) : Param::null(TEXTOID)});

  SeriesDef def;
  def.name = n.name;
  def.tpl = tpl;
  def.gapless = n.gapless;
  def.start = start;
  def.increment = n.increment;
  def.overflow_error = n.on_overflow == "error";
  for (const Position& p : positions) {
    std::vector<Param> key = {Param::text(o.name), Param::text(p.scope), Param::text(p.period)};
    if (n.gapless) {
      // Fast or gapless before: the row holds the position from now on.
      std::vector<Param> params = key;
      params.push_back(p.last ? Param::int8(*p.last) : Param::null(INT8OID));
      spi.execute("UPDATE seqguard.counters SET last_value = $4, sequence_name = NULL "
                  "WHERE series OPERATOR(pg_catalog.=) $1 AND scope OPERATOR(pg_catalog.=) $2 "
                  "AND period OPERATOR(pg_catalog.=) $3",
                  params);
      if (p.sequence) spi.execute_dynamic("DROP SEQUENCE IF EXISTS seqguard." + quoted_ident(*p.sequence));
      continue;
    }
    // Fast from now on: a sequence that continues where the counter stands, with the
    // new step and maximum.
    std::string name = p.sequence.value_or(fast_sequence_name(counter_key(o.name, p.scope, p.period)));
    int64_t max = sequence_max(def);
    int64_t min = start < max ? start : start - 1;
    char ddl[512];
    if (p.sequence && counter_sequence_oid(*p.sequence) != InvalidOid) {
      snprintf(ddl, sizeof ddl, "ALTER SEQUENCE seqguard.%s INCREMENT BY %d MINVALUE %lld MAXVALUE %lld",
               quoted_ident(name).c_str(), n.increment, (long long)min, (long long)max);
      spi.execute_dynamic(ddl);
      continue;
    }
    snprintf(ddl, sizeof ddl,
             "CREATE SEQUENCE seqguard.%s AS pg_catalog.int8 INCREMENT BY %d MINVALUE %lld MAXVALUE %lld START WITH %lld",
             quoted_ident(name).c_str(), n.increment, (long long)min, (long long)max, (long long)start);
    spi.execute_dynamic(ddl);
    spi.execute_dynamic("GRANT SELECT ON SEQUENCE seqguard." + quoted_ident(name) + " TO PUBLIC");
    // A position below start is "start again" (seqguard_setval to start - increment).
    if (p.last && *p.last >= start) {
      pg_try([] { CommandCounterIncrement(); });
      Oid seq = counter_sequence_oid(name);
      int64_t last = *p.last;
      pg_try([&] { DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seq), Int64GetDatum(last)); });
    }
    std::vector<Param> params = key;
    params.push_back(Param::text(name));
    spi.execute("UPDATE seqguard.counters SET last_value = NULL, sequence_name = $4::pg_catalog.name "
                "WHERE series OPERATOR(pg_catalog.=) $1 AND scope OPERATOR(pg_catalog.=) $2 "
                "AND period OPERATOR(pg_catalog.=) $3",
                params);
  }
  forget_definition(o.name);
  invalidate_series_caches();
}

bool revert_if_last(const std::string& series, std::string_view id) {
  std::shared_ptr<const SeriesDef> sp = load_series(series, Access::admin);
  const SeriesDef& s = *sp;
  if (!s.gapless)
    fail(core::sqlstate::feature_not_supported,
         "series \"" + series + "\" is fast; only gapless counters can give a number back",
         "A fast counter's sequence moves outside transactions: moving it back could issue a number that a "
         "transaction still holds.");
  std::optional<core::ParsedId> p = s.tpl.parse_id(id);
  if (!p || p->scope.size() > kMaxScopeBytes) return false;
  check_writable("seqguard_revert_if_last()");
  Counter& c = get_counter(sp, p->scope, p->period_key, true);
  if (!c.last || *c.last != p->value) return false;
  int64_t back;
  if (__builtin_sub_overflow(p->value, (int64_t)s.increment, &back)) return false;
  remember(c);
  c.last = back;  // start - increment: the counter starts over at start_value
  c.dirty = true;
  return true;
}

std::vector<std::string> series_missing_sequences() {
  Spi spi;
  uint64_t n = spi.execute(
      "SELECT DISTINCT c.series FROM seqguard.counters c WHERE c.sequence_name IS NOT NULL "
      "AND NOT EXISTS (SELECT FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n "
      "ON n.oid OPERATOR(pg_catalog.=) r.relnamespace WHERE n.nspname OPERATOR(pg_catalog.=) 'seqguard' "
      "AND r.relname OPERATOR(pg_catalog.=) c.sequence_name) ORDER BY 1",
      {}, Snap::transaction, true);
  std::vector<std::string> out;
  for (uint64_t i = 0; i < n; i++) out.push_back(*spi.get_text(i, 1));
  return out;
}

namespace {

// Why the caller cannot read what a series' column holds, or nullopt if it can. The
// columns are read with the caller's privileges: a sync must not become a way to read a
// table the caller cannot, and the largest number the caller sees proves nothing when
// row-level security hides rows from it.
std::optional<std::string> column_unreadable(const SeriesColumn& c) {
  auto readable = [&](const std::string& column) {
    return pg_call([&] {
      Oid user = GetUserId();
      if (compat::namespace_aclcheck(get_rel_namespace(c.table), user, ACL_USAGE) != ACLCHECK_OK) return false;
      if (pg_class_aclcheck(c.table, user, ACL_SELECT) == ACLCHECK_OK) return true;
      AttrNumber att = get_attnum(c.table, column.c_str());
      return att > 0 && pg_attribute_aclcheck(c.table, att, user, ACL_SELECT) == ACLCHECK_OK;
    });
  };
  std::string label = qualified_name(c.table) + "." + quoted_ident(c.column);
  if (!readable(c.column) || (!c.scope_column.empty() && !readable(c.scope_column)))
    return "the caller may not read " + label + " (SELECT)";
  if (pg_call([&] { return check_enable_rls(c.table, InvalidOid, true) == RLS_ENABLED; }))
    return "row-level security may hide rows of " + qualified_name(c.table) + " from the caller";
  return std::nullopt;
}

struct Largest {
  int64_t value;
  size_t column;  // index into the columns
};
using LargestMap = std::map<std::pair<std::string, std::string>, Largest>;  // (scope, period)

void note_largest(LargestMap& found, std::pair<std::string, std::string> key, int64_t value, size_t column) {
  auto it = found.find(key);
  if (it == found.end())
    found.emplace(std::move(key), Largest{value, column});
  else if (value > it->second.value)
    it->second = Largest{value, column};
}

// The largest number of each (scope, period) found in the columns, read with the
// caller's privileges. `unmatched` counts formatted values the template cannot read;
// `periodless` lists number columns of a series whose counters restart per period: a
// bare number does not say which period it belongs to.
LargestMap scan_columns(const SeriesDef& s, const std::vector<SeriesColumn>& columns,
                        std::vector<uint64_t>& unmatched, std::vector<size_t>& periodless) {
  unmatched.assign(columns.size(), 0);
  LargestMap found;
  Spi reader(Role::caller);
  for (size_t ci = 0; ci < columns.size(); ci++) {
    const SeriesColumn& c = columns[ci];
    std::string col = quoted_ident(c.column);
    std::string table = qualified_name(c.table);
    if (c.number) {
      if (s.tpl.period() != core::Period::none) {
        periodless.push_back(ci);
        continue;
      }
      // COALESCE is syntax, not a function: search_path cannot reach it.
      std::string scope = c.scope_column.empty()
                              ? std::string(pg_call([&] { return quote_literal_cstr(c.scope_value.c_str()); }))
                              : quoted_ident(c.scope_column);
      uint64_t n = reader.execute_dynamic("SELECT COALESCE(" + scope + "::pg_catalog.text, ''), pg_catalog.max(" + col +
                                              ")::pg_catalog.int8 FROM " + table + " WHERE " + col +
                                              " IS NOT NULL GROUP BY 1",
                                          true);
      for (uint64_t i = 0; i < n; i++) {
        std::string sc = reader.get_text(i, 1).value_or("");
        if (sc.size() > kMaxScopeBytes) continue;  // never a counter's scope
        note_largest(found, {sc, ""}, *reader.get_int8(i, 2), ci);
      }
      continue;
    }
    std::string sql = "SELECT " + col + "::pg_catalog.text FROM " + table + " WHERE " + col + " IS NOT NULL";
    Portal portal = pg_call(
        [&] { return SPI_cursor_open_with_args(nullptr, sql.c_str(), 0, nullptr, nullptr, nullptr, true, 0); });
    for (;;) {
      pg_try([&] { SPI_cursor_fetch(portal, true, 10000); });
      uint64_t n = SPI_processed;
      if (n == 0) break;
      for (uint64_t i = 0; i < n; i++) {
        std::optional<std::string> id = reader.get_text(i, 1);
        if (!id) continue;
        std::optional<core::ParsedId> p = s.tpl.parse_id(*id);
        // A scope longer than a counter key may hold was never issued by the series.
        if (!p || p->scope.size() > kMaxScopeBytes) {
          unmatched[ci]++;
          continue;
        }
        note_largest(found, {std::move(p->scope), std::move(p->period_key)}, p->value, ci);
      }
      pg_try([] { SPI_freetuptable(SPI_tuptable); });
    }
    pg_try([&] { SPI_cursor_close(portal); });
  }
  return found;
}

// Re-creates the sequence a fast counter's row names when it does not exist (a
// logical-replication subscriber copies the row, never the sequence), at the series'
// start; the caller then moves it past what the columns hold. Under the counter's lock,
// so that it is created once. Returns whether it created it.
bool restore_fast_sequence(const SeriesDef& s, const std::string& scope, const std::string& period) {
  std::string key = counter_key(s.name, scope, period);
  lock_object(LockSpace::counter, lock_hash(key), ExclusiveLock);
  std::optional<CounterRow> row = read_counter_row(s.name, scope, period, direct::Probe::writer);
  if (!row || !row->sequence_name || counter_sequence_oid(*row->sequence_name) != InvalidOid) return false;
  // The name is the row's: it stays valid, and is fast_sequence_name() of the key
  // unless the row came from elsewhere, which is no reason to rename it.
  Spi spi;
  create_counter_sequence(spi, s, *row->sequence_name);
  pg_try([] { CommandCounterIncrement(); });
  fast_sequences.erase(key);
  return true;
}

// The (scope, period, sequence name) of each fast counter of `series` whose row names a
// sequence that does not exist (a logical-replication subscriber copies the row, never
// the sequence).
std::vector<std::tuple<std::string, std::string, std::string>> counters_missing_sequence(const std::string& series) {
  Spi spi;
  uint64_t n = spi.execute(
      "SELECT scope, period, sequence_name::pg_catalog.text FROM seqguard.counters "
      "WHERE series OPERATOR(pg_catalog.=) $1 AND sequence_name IS NOT NULL ORDER BY scope, period",
      {Param::text(series)}, Snap::transaction, true);
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (uint64_t i = 0; i < n; i++) {
    std::string seqname = *spi.get_text(i, 3);
    if (counter_sequence_oid(seqname) == InvalidOid) out.emplace_back(*spi.get_text(i, 1), *spi.get_text(i, 2), seqname);
  }
  return out;
}

void sync_notice(const std::string& msg) {
  pg_try([&] { ereport(NOTICE, (errcode(ERRCODE_SUCCESSFUL_COMPLETION), errmsg_internal("%s", msg.c_str()))); });
}

}  // namespace

std::optional<std::string> columns_unreadable(const std::vector<SeriesColumn>& columns) {
  for (const SeriesColumn& c : columns)
    if (std::optional<std::string> why = column_unreadable(c)) return why;
  return std::nullopt;
}

SeriesDrift series_drift(const std::string& name, const std::vector<SeriesColumn>& columns) {
  std::shared_ptr<const SeriesDef> sp = load_series(name, Access::admin);
  const SeriesDef& s = *sp;
  SeriesDrift out{s.gapless, {}, columns_unreadable(columns), {}};
  if (out.unreadable) return out;
  std::vector<uint64_t> unmatched;
  LargestMap found = scan_columns(s, columns, unmatched, out.unread);
  auto examine = [&](const std::string& scope, const std::string& period, const Largest* largest) {
    CounterDrift d;
    d.scope = scope;
    d.period = period;
    if (largest) {
      d.column = &columns[largest->column];
      d.column_max = largest->value;
    }
    std::optional<CounterRow> row = read_counter_row(s.name, scope, period, direct::Probe::committed);
    if (!s.gapless && row && row->sequence_name) {
      d.sequence = row->sequence_name;
      d.sequence_missing = counter_sequence_oid(*row->sequence_name) == InvalidOid;
    }
    if (!d.sequence_missing) {
      Stored st = read_stored(s, scope, period);
      d.last_value = st.last;
      d.next_value = st.next(s);
    }
    if (d.sequence_missing) {
      d.behind = true;
      if (d.column_max) d.lag = (*d.column_max - s.start) / s.increment + 1;
    } else if (d.column_max && *d.next_value <= *d.column_max) {
      d.behind = true;
      d.lag = (*d.column_max - *d.next_value) / s.increment + 1;
    }
    out.counters.push_back(std::move(d));
  };
  for (const auto& [key, largest] : found) examine(key.first, key.second, &largest);
  if (!s.gapless) {
    // Counters whose sequence is missing but whose numbers no column shows.
    for (const auto& [scope, period, seqname] : counters_missing_sequence(name))
      if (found.count({scope, period}) == 0) examine(scope, period, nullptr);
  }
  return out;
}

int32_t sync_series(const std::string& name, const std::vector<SeriesColumn>& columns, bool dry_run) {
  // A fast counter's move would otherwise fail on a standby with 55000 on its lock.
  if (!dry_run) check_writable("seqguard_sync_series()");
  std::shared_ptr<const SeriesDef> sp = load_series(name, Access::admin);
  const SeriesDef& s = *sp;
  if (std::optional<std::string> why = columns_unreadable(columns))
      fail(core::sqlstate::insufficient_privilege, *why,
           "Syncing series \"" + name + "\" past only what the caller sees could leave it behind the rest.",
           "Run it as the table's owner or a role with BYPASSRLS.");
  std::vector<uint64_t> unmatched;
  std::vector<size_t> periodless;
  LargestMap found = scan_columns(s, columns, unmatched, periodless);
  for (size_t ci = 0; ci < columns.size(); ci++)
    if (unmatched[ci] > 0) {
      std::string count = std::to_string(unmatched[ci]), table = qualified_name(columns[ci].table);
      pg_try([&] {
        ereport(NOTICE, (errcode(ERRCODE_SUCCESSFUL_COMPLETION),
                         errmsg_plural("%s value in %s does not match the template of series \"%s\" and was ignored",
                                       "%s values in %s do not match the template of series \"%s\" and were ignored",
                                       (unsigned long)unmatched[ci], count.c_str(), table.c_str(), name.c_str())));
      });
    }
  // Said by a dry run only: a real run would repeat it every time, and nothing can change it
  // but the table's definition.
  if (dry_run)
    for (size_t ci : periodless)
      sync_notice(qualified_name(columns[ci].table) + "." + quoted_ident(columns[ci].column) +
                  " holds numbers of series \"" + name +
                  "\" without their period; its counters restart per period, so it was not read");

  int32_t moved = 0;
  auto notice = [&](const std::string& what, int64_t from, int64_t to) {
    sync_notice(std::string(dry_run ? "would move " : "moved ") + what + " from next " +
                std::to_string(from) + " to next " + std::to_string(to));
    moved++;
  };
  auto label = [&](const std::string& scope, const std::string& period) {
    return "series \"" + name + "\" counter (scope '" + scope + "', period '" + period + "')";
  };
  // Fast counters whose sequence is missing: created first, at the series' start, then
  // moved like the others. Without this their next draw fails (55000).
  if (!s.gapless) {
    for (const auto& [scope, period, seqname] : counters_missing_sequence(name)) {
      bool has_data = found.count({scope, period}) > 0;
      std::string what = label(scope, period);
      if (dry_run) {
        sync_notice("would create the missing sequence seqguard." + seqname + " of " + what +
                    (has_data ? "" : " at its start (no column shows its numbers)"));
        if (!has_data) moved++;
        continue;
      }
      if (!restore_fast_sequence(s, scope, period)) continue;
      sync_notice("created the missing sequence seqguard." + seqname + " of " + what +
                  " at its start " + std::to_string(s.start) +
                  (has_data ? "" : " (no column shows its numbers)"));
      if (!has_data) moved++;  // else counted once, as it moves below
    }
  }
  for (auto& [key, largest] : found) {
    int64_t max = largest.value;
    std::string what = label(key.first, key.second);
    if (dry_run) {
      // Reads what a real run would compare with, without taking the counter's lock.
      int64_t next_before = read_stored(s, key.first, key.second).next(s);
      if (next_before <= max) notice(what, next_before, max + s.increment);
      continue;
    }
    Counter& c = get_counter(sp, key.first, key.second, true);
    if (s.gapless) {
      int64_t next_before = advance(s, c.last);
      if (next_before > max) continue;
      remember(c);
      c.last = max;
      c.dirty = true;
      notice(what, next_before, advance(s, c.last));
    } else {
      Spi spi;
      Advance a = advance_sequence(spi, c.sequence, max);
      if (a.moved) notice(what, a.old_next, a.new_next);
    }
  }
  return moved;
}

int32_t sync_series(const std::string& name, bool dry_run) {
  std::map<std::string, std::vector<SeriesColumn>> all = series_columns();
  auto it = all.find(name);
  if (it == all.end()) {
    load_series(name, Access::admin);  // 42704 for a series that does not exist
    fail(core::sqlstate::object_not_in_prerequisite_state,
         "series \"" + name + "\" has no column to sync from",
         "A series is synced from its target column, the columns late-bound to it and the columns whose "
         "DEFAULT draws from it.",
         "Create the series with \"target_table\" and \"target_column\", or set them with seqguard_alter_series().");
  }
  return sync_series(name, it->second, dry_run);
}

}  // namespace seqguard::pg
