#include "pg/direct.hpp"

#include <cstring>

#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "storage/bufmgr.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "executor/executor.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/resowner.h"
#include "utils/datum.h"
#include "utils/inval.h"
}

namespace seqguard::pg::direct {

namespace {

// The tables found and checked before: a table is looked up by name and its columns
// compared once, not on every call (an import that creates a million counters opens
// seqguard.counters twice per counter). Forgotten on any invalidation of the table
// (ALTER, DROP, a dropped and re-created extension) and whenever the `seqguard`
// schema is another one.
struct Known {
  const char* name = nullptr;
  Oid schema = InvalidOid;
  Oid relid = InvalidOid;
  Oid pkey = InvalidOid;
};
Known known[4];
bool known_callback = false;

void forget_known(Datum, Oid relid) {
  for (Known& k : known)
    if (relid == InvalidOid || k.relid == relid) k = Known{};
}

Known* find_known(const char* name, Oid schema) {
  for (Known& k : known)
    if (k.name != nullptr && std::strcmp(k.name, name) == 0 && k.schema == schema) return &k;
  return nullptr;
}

void remember_known(const char* name, Oid schema, Oid relid, Oid pkey) {
  if (!known_callback) {
    pg_try([] { CacheRegisterRelcacheCallback(forget_known, (Datum)0); });
    known_callback = true;
  }
  for (Known& k : known)
    if (k.name == nullptr || std::strcmp(k.name, name) == 0) {
      k = Known{name, schema, relid, pkey};
      return;
    }
}

}  // namespace

// Tables kept open between calls. An import numbers a million rows with one call each;
// opening seqguard.counters, its primary key and the index state a write needs, and
// closing them again, on every call cost about a fifth of a new counter's time. The first
// call opens them and they stay open until the statement ends (ExecutorEnd), any utility
// command starts or ends (DROP EXTENSION and ALTER TABLE refuse a table this session
// still has open), or the (sub)transaction that opened them commits; when it aborts,
// its resource owner lets go of them and they are only forgotten here. Locks are taken
// on every call as before (a lock already held costs a look in the local lock table).
struct Held {
  Oid relid = InvalidOid;
  Relation rel = nullptr;
  Relation index = nullptr;               // the primary key, for probes
  CatalogIndexState indstate = nullptr;   // every index, for writes
  ResourceOwner owner = nullptr;          // the (sub)transaction's, which holds the references
  MemoryContext cxt = nullptr;            // ... and its memory, which holds indstate
  int level = 0;                          // its nest level
};

namespace {

Held held[4];
int table_users = 0;  // Table objects alive: nothing is closed under them

Held* find_held(Oid relid) {
  for (Held& h : held)
    if (h.rel != nullptr && h.relid == relid) return &h;
  return nullptr;
}

// Runs `f` with the resource owner that holds (or is to hold) the references of `h`.
template <typename F>
void as_holder(const Held& h, F&& f) {
  ResourceOwner saved = CurrentResourceOwner;
  CurrentResourceOwner = h.owner;
  PG_TRY();
  { f(); }
  PG_FINALLY();
  { CurrentResourceOwner = saved; }
  PG_END_TRY();
}

// The held entry of `relid`, locked in `mode`; opened now (under the (sub)transaction's
// resource owner) if need be. nullptr when the relation no longer exists.
Held* hold(Oid relid, LOCKMODE mode) {
  if (Held* h = find_held(relid)) {
    pg_try([&] { LockRelationOid(relid, mode); });
    return h;
  }
  for (Held& h : held)
    if (h.rel == nullptr) {
      Held fresh;
      fresh.relid = relid;
      fresh.owner = CurTransactionResourceOwner;
      fresh.cxt = CurTransactionContext;
      fresh.level = GetCurrentTransactionNestLevel();
      pg_try([&] { as_holder(fresh, [&] { fresh.rel = try_table_open(relid, mode); }); });
      if (fresh.rel == nullptr) return nullptr;
      h = fresh;
      return &h;
    }
  // More of seqguard's tables than there are places: cannot happen (there are two).
  fail(core::sqlstate::internal_error, "too many of seqguard's tables open at once");
}

void close_held(Held& h) {
  Held copy = h;
  h = Held{};
  as_holder(copy, [&] {
    if (copy.indstate != nullptr) CatalogCloseIndexes(copy.indstate);
    if (copy.index != nullptr) index_close(copy.index, NoLock);
    table_close(copy.rel, NoLock);
  });
}

// Closes what is held at nest level `from` and deeper; when Table objects are still
// alive (a nested statement ended inside a call), the outer statement's end does it.
void release_held(int from) {
  if (table_users > 0) return;
  for (Held& h : held)
    if (h.rel != nullptr && h.level >= from) close_held(h);
}

void forget_held(int from) {
  for (Held& h : held)
    if (h.rel != nullptr && h.level >= from) h = Held{};
}

ExecutorEnd_hook_type prev_executor_end = nullptr;
ProcessUtility_hook_type prev_process_utility = nullptr;

void on_executor_end(QueryDesc* query) {
  if (prev_executor_end != nullptr)
    prev_executor_end(query);
  else
    standard_ExecutorEnd(query);
  release_held(0);
}

void on_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                        DestReceiver* dest, QueryCompletion* qc) {
  // Not for transaction control: COMMIT runs the commit callbacks, which close them, and
  // between a ROLLBACK TO SAVEPOINT and its subtransaction's abort they are forgotten.
  if (nodeTag(pstmt->utilityStmt) != T_TransactionStmt) release_held(0);
  if (prev_process_utility != nullptr)
    prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  if (IsTransactionState() && nodeTag(pstmt->utilityStmt) != T_TransactionStmt) release_held(0);
}

void on_held_xact(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
    case XACT_EVENT_PRE_PREPARE:
      table_users = 0;
      release_held(0);
      return;
    default:
      table_users = 0;
      forget_held(0);
      return;
  }
}

// seqguard starts no subtransaction of its own, so none ends while a Table is alive.
void on_held_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  int level = GetCurrentTransactionNestLevel();
  if (event == SUBXACT_EVENT_PRE_COMMIT_SUB) release_held(level);
  if (event == SUBXACT_EVENT_ABORT_SUB) forget_held(level);
}

}  // namespace

void register_callbacks() {
  // Registered before the counters' callbacks, so called after them: their pre-commit
  // writes use the tables, which are closed once those are done.
  RegisterXactCallback(on_held_xact, nullptr);
  RegisterSubXactCallback(on_held_subxact, nullptr);
  prev_executor_end = ExecutorEnd_hook;
  ExecutorEnd_hook = on_executor_end;
  prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = on_process_utility;
}

Table::Table(const char* name, const char* const* columns, int natts, int key_natts, LOCKMODE mode) {
  Oid schema = catalog().schema;
  if (const Known* k = find_known(name, schema)) {
    Oid relid = k->relid, pkey = k->pkey;
    // Locking it may deliver an invalidation of it. Most are VACUUM's and ANALYZE's, which
    // change nothing checked here, but the table may also be gone or altered: either way
    // it is looked up and checked again below.
    Held* h = hold(relid, mode);
    if (h != nullptr && find_known(name, schema) != nullptr) {
      held_ = h;
      pkey_ = pkey;
      table_users++;
      return;
    }
  }
  // Checked under the lock taken here, which the transaction keeps: whatever would change
  // the columns or the primary key, or drop the table, needs a lock that conflicts with
  // it, so the result holds however many invalidations arrive meanwhile. Looking again
  // whenever one had arrived failed inserts while autovacuum worked on a busy counter
  // table, which sends two or more in a row.
  Oid relid = pg_call([&] { return get_relname_relid(name, schema); });
  Held* h = OidIsValid(relid) ? hold(relid, mode) : nullptr;
  if (h == nullptr)
    fail(core::sqlstate::object_not_in_prerequisite_state, std::string("table seqguard.") + name + " does not exist",
         {}, "Drop and re-create the extension seqguard.");
  Oid pkey = InvalidOid;
  bool layout_ok = true;
  pg_try([&] {
    Relation rel = h->rel;
    pkey = compat::primary_key_index(rel);
    TupleDesc desc = RelationGetDescr(rel);
    layout_ok = desc->natts == natts && OidIsValid(pkey);
    for (int i = 0; layout_ok && i < natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      layout_ok = !att->attisdropped && std::strcmp(NameStr(att->attname), columns[i]) == 0;
    }
    // Probes name the key's columns by their number in the table; the index may list
    // them in any order (1.1 changed the counters' order), but no other column.
    if (layout_ok) {
      Relation index = index_open(pkey, AccessShareLock);
      uint32 seen = 0;
      layout_ok = index->rd_index->indnkeyatts == key_natts;
      for (int i = 0; layout_ok && i < key_natts; i++) {
        AttrNumber attno = index->rd_index->indkey.values[i];
        layout_ok = attno >= 1 && attno <= key_natts && (seen & (1u << attno)) == 0;
        seen |= 1u << attno;
      }
      index_close(index, AccessShareLock);
    }
  });
  if (!layout_ok)
    fail(core::sqlstate::internal_error,
         std::string("table seqguard.") + name + " does not have the columns or primary key this seqguard expects", {},
         "The installed library and the extension's objects differ: ALTER EXTENSION seqguard UPDATE.");
  remember_known(name, schema, relid, pkey);
  held_ = h;
  pkey_ = pkey;
  table_users++;
}

Table::~Table() { table_users--; }

Relation Table::rel() const { return held_->rel; }

Relation Table::index() const {
  Held& h = *held_;
  if (h.index == nullptr) pg_try([&] { as_holder(h, [&] { h.index = index_open(pkey_, AccessShareLock); }); });
  return h.index;
}

CatalogIndexState Table::indexes() const {
  Held& h = *held_;
  if (h.indstate == nullptr)
    pg_try([&] {
      MemoryContext old = MemoryContextSwitchTo(h.cxt);
      as_holder(h, [&] { h.indstate = CatalogOpenIndexes(h.rel); });
      MemoryContextSwitchTo(old);
    });
  return h.indstate;
}

namespace {

// A row version's columns, copied (varlenas detoasted) into the current memory context.
void copy_columns(Relation rel, HeapTuple tup, Datum* values, bool* nulls) {
  TupleDesc desc = RelationGetDescr(rel);
  heap_deform_tuple(tup, desc, values, nulls);
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (nulls[i] || att->attbyval) continue;
    values[i] = att->attlen == -1 ? PointerGetDatum(PG_DETOAST_DATUM_COPY(values[i]))
                                  : datumCopy(values[i], false, att->attlen);
  }
}

}  // namespace

Found probe(const Table& t, ScanKeyData* keys, int nkeys, Probe how, Datum* values, bool* nulls,
            ItemPointerData* tid) {
  Relation rel = t.rel();
  Relation index = t.index();
  Found found = Found::none;
  pg_try([&] {
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      SnapshotData dirty;
      InitDirtySnapshot(dirty);
      Snapshot snap = how == Probe::reader ? RegisterSnapshot(GetLatestSnapshot())
                      : how == Probe::committed ? SnapshotSelf
                                                : &dirty;
      // The scan renumbers its keys' columns from the table's to the index's in place:
      // a look again after a wait starts from the caller's keys.
      ScanKeyData scan_keys[INDEX_MAX_KEYS];
      memcpy(scan_keys, keys, sizeof(ScanKeyData) * nkeys);
      SysScanDesc scan = systable_beginscan_ordered(rel, index, snap, nkeys, scan_keys);
      HeapTuple tup = systable_getnext_ordered(scan, ForwardScanDirection);
      TransactionId xwait = InvalidTransactionId;
      ItemPointerData wait_tid;
      found = Found::none;
      if (HeapTupleIsValid(tup)) {
        // The dirty snapshot reports the other transaction that is inserting, updating
        // or deleting the version it returned (our own changes report none).
        if (how == Probe::writer || how == Probe::sweeper) xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
        if (how == Probe::locker) xwait = dirty.xmin;
        if (TransactionIdIsValid(xwait)) {
          wait_tid = tup->t_self;
        } else {
          copy_columns(rel, tup, values, nulls);
          *tid = tup->t_self;
          found = Found::row;
        }
      }
      systable_endscan_ordered(scan);
      if (how == Probe::reader) UnregisterSnapshot(snap);
      if (!TransactionIdIsValid(xwait)) break;
      if (how == Probe::sweeper || how == Probe::locker) {
        found = Found::busy;
        break;
      }
      XactLockTableWait(xwait, rel, &wait_tid, XLTW_None);
    }
  });
  return found;
}

void write(const Table& t, const ItemPointerData* tid, Datum* values, bool* nulls, ItemPointerData* inserted) {
  Relation rel = t.rel();
  CatalogIndexState indexes = t.indexes();
  pg_try([&] {
    HeapTuple tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    if (tid != nullptr) {
      ItemPointerData at = *tid;
      CatalogTupleUpdateWithInfo(rel, &at, tup, indexes);
    } else {
      CatalogTupleInsertWithInfo(rel, tup, indexes);
    }
    if (inserted != nullptr) *inserted = tup->t_self;
    heap_freetuple(tup);
    CommandCounterIncrement();
  });
}

namespace {

// Adds a new row version's entries to the table's indexes, as CatalogIndexInsert does,
// the unique ones checked as `check` says (the others never are); false when a check
// reported a possible conflict. `update`: the version replaces one with the same key
// (a hint for the B-tree's clean-up), and `summarizing_only` leaves out all but the
// summarizing indexes (a HOT update that changed a BRIN-indexed column).
bool add_index_entries(const Table& t, HeapTuple tup, IndexUniqueCheck check, bool update,
                       bool summarizing_only = false) {
  Relation rel = t.rel();
  CatalogIndexState indexes = t.indexes();
  bool ok = true;
  TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
  ExecStoreHeapTuple(tup, slot, false);
  for (int i = 0; i < indexes->ri_NumIndices; i++) {
    IndexInfo* info = indexes->ri_IndexRelationInfo[i];
    if (!info->ii_ReadyForInserts) continue;  // as the executor does
    if (summarizing_only && !compat::index_is_summarizing(info)) continue;
    Datum ivalues[INDEX_MAX_KEYS];
    bool inulls[INDEX_MAX_KEYS];
    FormIndexDatum(info, slot, nullptr, ivalues, inulls);
    IndexUniqueCheck how = info->ii_Unique ? check : UNIQUE_CHECK_NO;
    bool unique = index_insert(indexes->ri_IndexRelationDescs[i], ivalues, inulls, &tup->t_self, rel, how,
                               update, info);
    // Only a partial check's answer means anything (an index without one returns false).
    if (how == UNIQUE_CHECK_PARTIAL) ok = ok && unique;
  }
  ExecDropSingleTupleTableSlot(slot);
  return ok;
}

}  // namespace

Inserted insert_if_new(const Table& t, Datum* values, bool* nulls, ItemPointerData* inserted) {
  Relation rel = t.rel();
  CatalogIndexState indexes = t.indexes();
  // seqguard's tables have plain column indexes only; anything else (an index someone
  // added by hand) is left to the usual look-up and insert.
  for (int i = 0; i < indexes->ri_NumIndices; i++) {
    const IndexInfo* info = indexes->ri_IndexRelationInfo[i];
    if (info->ii_Expressions != NIL || info->ii_Predicate != NIL || info->ii_ExclusionOps != nullptr)
      return Inserted::cannot_check;
  }
  bool unique = true;
  pg_try([&] {
    HeapTuple tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    simple_heap_insert(rel, tup);
    unique = add_index_entries(t, tup, UNIQUE_CHECK_PARTIAL, false);
    CommandCounterIncrement();
    if (unique) {
      *inserted = tup->t_self;
    } else {
      simple_heap_delete(rel, &tup->t_self);
      CommandCounterIncrement();
    }
    heap_freetuple(tup);
  });
  return unique ? Inserted::yes : Inserted::taken;
}

Locked lock_row(const Table& t, ItemPointerData* tid, bool wait, Datum* values, bool* nulls) {
  Relation rel = t.rel();
  Locked locked = Locked::moved;
  pg_try([&] {
    for (;;) {
      HeapTupleData tuple;
      tuple.t_self = *tid;
      Buffer buffer;
      TM_FailureData tmfd;
      TM_Result r = heap_lock_tuple(rel, &tuple, GetCurrentCommandId(true), LockTupleExclusive,
                                    wait ? LockWaitBlock : LockWaitSkip, false, &buffer, &tmfd);
      // The pin keeps the version where it is (no pruning moves it) while it is read.
      if ((r == TM_Ok || r == TM_SelfModified) && values != nullptr) copy_columns(rel, &tuple, values, nulls);
      ReleaseBuffer(buffer);
      switch (r) {
        case TM_Ok:
        case TM_SelfModified:  // this transaction changed it: it is ours already
          locked = Locked::yes;
          return;
        case TM_Updated:
          // Updated by a committed transaction: its successor is the row's next version.
          // Versions made after this transaction's snapshot cannot be pruned before it
          // ends, so the chain is still there to follow.
          if (values != nullptr && ItemPointerIsValid(&tmfd.ctid) && !ItemPointerEquals(&tmfd.ctid, tid)) {
            *tid = tmfd.ctid;
            continue;
          }
          locked = Locked::moved;
          return;
        case TM_Deleted:
          locked = Locked::moved;
          return;
        case TM_WouldBlock:
          locked = Locked::busy;
          return;
        default:
          elog(ERROR, "unexpected result %d locking a row of %s", (int)r, RelationGetRelationName(rel));
      }
    }
  });
  return locked;
}

Locked update_row(const Table& t, ItemPointerData* tid, Datum* values, bool* nulls) {
  Relation rel = t.rel();
  Locked result = Locked::moved;
  pg_try([&] {
    HeapTuple tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    TM_FailureData tmfd;
    compat::IndexUpdate need = compat::IndexUpdate::none;
    TM_Result r = compat::heap_update_waiting(rel, tid, tup, &tmfd, &need);
    if (r == TM_Ok) {
      if (need != compat::IndexUpdate::none)
        add_index_entries(t, tup, UNIQUE_CHECK_NO, true, need == compat::IndexUpdate::summarizing);
      *tid = tup->t_self;
      result = Locked::yes;
      CommandCounterIncrement();
    } else if (r != TM_Updated && r != TM_Deleted && r != TM_SelfModified) {
      elog(ERROR, "unexpected result %d updating a row of %s", (int)r, RelationGetRelationName(rel));
    }
    heap_freetuple(tup);
  });
  return result;
}

void remove(const Table& t, const ItemPointerData* tid) {
  Relation rel = t.rel();
  pg_try([&] {
    ItemPointerData at = *tid;
    CatalogTupleDelete(rel, &at);
    CommandCounterIncrement();
  });
}

}  // namespace seqguard::pg::direct
