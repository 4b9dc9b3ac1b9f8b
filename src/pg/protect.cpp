// Sequences kept ahead of explicit inserts.
//
// What the trigger costs an ordinary insert is the point of the design. A statement
// trigger with a transition table (REFERENCING NEW TABLE) sees exactly the rows the
// statement wrote, but PostgreSQL copies every inserted row into that table: measured
// here, ~7% on a 100,000-row INSERT ... SELECT before the trigger reads a single row.
// So the transition table is the fallback, not the rule:
//
//  * index mode (ordinary tables whose guarded columns each lead a valid btree index,
//    the usual serial or identity primary key): a trigger without transition table asks
//    the column's index whether any value lies at or beyond what nextval() would return
//    next, one descent per statement whatever the number of rows, and only when one does
//    reads the extreme from the end of the index. It reads with SnapshotSelf: the
//    statement's own rows without a new command id or snapshot, and rows committed by
//    others (already handled by their own statements), but not the uncommitted rows of
//    other transactions: those are theirs to handle, and a default-only insert that
//    tried would only queue up on the sequence's lock behind them;
//  * transition mode (partitioned tables, whose rows live in their partitions' indexes,
//    and columns without an index): the trigger scans the statement's rows.
//
// Either way the sequence is read without a lock (pg_sequence_last_value) and moved only
// when it is behind, by advance_sequence(), which rechecks under the sequence's lock and
// never moves it backwards. Values outside the sequence's [minvalue, maxvalue] can never
// collide with it and are ignored.
//
// Who may move what: moving a sequence is setval(), which needs UPDATE on it. The trigger
// acts as the extension owner on the sequence (to read it and take its lock), so it
// checks that privilege itself, for the role that inserts (the current user when the
// statement's triggers fire): a sequence that role may not UPDATE is left where it is,
// with a WARNING, and seqguard_check_drift() shows it behind. Otherwise any role that
// may INSERT into some protected table could push someone else's sequence to the end of
// its range. seqguard_protect() itself refuses (42501) to protect a table one of whose
// sequences its caller may not UPDATE. What runs as the table's owner (the fallback
// query) runs with search_path pinned and every name qualified (spi.hpp).
//
// Which columns a table guards is worked out from the relcache (identity columns,
// defaults that are nextval(<constant>) under casts) and cached per backend until the
// relcache entry of the table or of one of its ancestors is invalidated.
#include "pg/protect.hpp"

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pg/late.hpp"
#include "pg/sequence.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_sequence.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "nodes/primnodes.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
}

namespace seqguard::pg {

namespace {

constexpr const char* kTriggerFunction = "protect_sequences";
constexpr const char* kTriggerName = "seqguard_protect";
constexpr const char* kTransitionTable = "seqguard_inserted";

// A column of the protected relation whose values must stay behind a sequence.
struct Guard {
  AttrNumber attnum;
  Oid type;        // int2, int4 or int8 (the base type)
  Oid sequence;
  Oid index;       // a valid btree index that leads with the column, or InvalidOid
  bool index_desc; // that index stores the column in descending order
};

// ---- which columns a relation guards (PostgreSQL code only: runs inside pg_try) ----

// The sequence of a default `nextval('seq'::regclass)`, under casts; InvalidOid otherwise.
Oid nextval_target(Node* n) {
  for (;;) {
    if (n == nullptr) return InvalidOid;
    if (IsA(n, RelabelType)) {
      n = (Node*)((RelabelType*)n)->arg;
    } else if (IsA(n, CoerceToDomain)) {
      n = (Node*)((CoerceToDomain*)n)->arg;
    } else if (IsA(n, FuncExpr)) {
      auto* f = (FuncExpr*)n;
      if (f->funcid == F_NEXTVAL && list_length(f->args) == 1) {
        Node* arg = (Node*)linitial(f->args);
        if (IsA(arg, Const) && !((Const*)arg)->constisnull && ((Const*)arg)->consttype == REGCLASSOID)
          return DatumGetObjectId(((Const*)arg)->constvalue);
        return InvalidOid;
      }
      if ((f->funcformat == COERCE_IMPLICIT_CAST || f->funcformat == COERCE_EXPLICIT_CAST) && f->args != NIL)
        n = (Node*)linitial(f->args);
      else
        return InvalidOid;
    } else {
      return InvalidOid;
    }
  }
}

Oid column_sequence(Relation rel, AttrNumber attnum) {
  Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
  if (a->attisdropped) return InvalidOid;
  if (a->attidentity) return compat::identity_sequence(rel, attnum, true);
  TupleConstr* c = RelationGetDescr(rel)->constr;
  if (!a->atthasdef || c == nullptr) return InvalidOid;
  for (int i = 0; i < c->num_defval; i++)
    if (c->defval[i].adnum == attnum) return nextval_target((Node*)stringToNode(c->defval[i].adbin));
  return InvalidOid;
}

void find_index(Relation rel, Guard* g) {
  g->index = InvalidOid;
  if (rel->rd_rel->relkind != RELKIND_RELATION) return;
  Oid opclass = GetDefaultOpClass(g->type, BTREE_AM_OID);
  List* indexes = RelationGetIndexList(rel);
  ListCell* lc;
  foreach (lc, indexes) {
    Oid idx = lfirst_oid(lc);
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
    if (!HeapTupleIsValid(tup)) continue;
    auto* form = (Form_pg_index)GETSTRUCT(tup);
    bool usable = form->indisvalid && form->indnkeyatts >= 1 && form->indkey.values[0] == g->attnum &&
                  heap_attisnull(tup, Anum_pg_index_indpred, nullptr) &&
                  TupleDescAttr(RelationGetDescr(rel), g->attnum - 1)->atttypid == g->type;
    bool desc = false;
    if (usable) {
      bool isnull = false;
      auto* classes = (oidvector*)DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull));
      usable = !isnull && classes->values[0] == opclass;
      auto* options = (int2vector*)DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indoption, &isnull));
      desc = !isnull && (options->values[0] & INDOPTION_DESC) != 0;
    }
    ReleaseSysCache(tup);
    if (!usable) continue;
    HeapTuple ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(idx));
    if (!HeapTupleIsValid(ctup)) continue;
    bool btree = ((Form_pg_class)GETSTRUCT(ctup))->relam == BTREE_AM_OID;
    ReleaseSysCache(ctup);
    if (!btree) continue;
    g->index = idx;
    g->index_desc = desc;
    break;
  }
  list_free(indexes);
}

bool is_integer(Oid base) { return base == INT2OID || base == INT4OID || base == INT8OID; }

// Fills `out` (palloc'd) with the guards of `rel`: its own sequence-backed integer
// columns, and its columns that feed a sequence of an ancestor (a partition of a table
// with an identity column has no identity of its own in PostgreSQL 15, yet rows
// inserted into it straight away take values the parent's sequence will hand out).
// Records the relations the answer depends on in `deps` (palloc'd, InvalidOid-ended).
int collect_guards(Relation rel, Guard** out, Oid** deps) {
  Oid relid = RelationGetRelid(rel);
  List* ancestors = rel->rd_rel->relispartition ? get_partition_ancestors(relid) : NIL;
  int nanc = list_length(ancestors);
  Relation* anc = (Relation*)palloc0(sizeof(Relation) * (nanc + 1));
  *deps = (Oid*)palloc0(sizeof(Oid) * (nanc + 2));
  (*deps)[0] = relid;
  for (int i = 0; i < nanc; i++) {
    anc[i] = table_open(list_nth_oid(ancestors, i), AccessShareLock);
    (*deps)[i + 1] = list_nth_oid(ancestors, i);
  }
  TupleDesc desc = RelationGetDescr(rel);
  Guard* guards = (Guard*)palloc0(sizeof(Guard) * desc->natts * (nanc + 1) + 1);
  int n = 0;
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (a->attisdropped) continue;
    Oid base = getBaseType(a->atttypid);
    if (!is_integer(base)) continue;
    for (int r = -1; r < nanc; r++) {
      Oid seq = InvalidOid;
      if (r < 0) {
        seq = column_sequence(rel, a->attnum);
      } else {
        AttrNumber at = get_attnum(RelationGetRelid(anc[r]), NameStr(a->attname));
        if (at > 0) seq = column_sequence(anc[r], at);
      }
      if (seq == InvalidOid) continue;
      bool dup = false;
      for (int k = 0; k < n; k++) dup = dup || (guards[k].attnum == a->attnum && guards[k].sequence == seq);
      if (dup) continue;
      Guard g{a->attnum, base, seq, InvalidOid, false};
      find_index(rel, &g);
      guards[n++] = g;
    }
  }
  for (int i = 0; i < nanc; i++) table_close(anc[i], AccessShareLock);
  *out = guards;
  return n;
}

std::vector<Guard> compute_guards(Relation rel, std::vector<Oid>* deps_out) {
  Guard* guards = nullptr;
  Oid* deps = nullptr;
  int n = pg_call([&] { return collect_guards(rel, &guards, &deps); });
  if (deps_out)
    for (int i = 0; deps[i] != InvalidOid; i++) deps_out->push_back(deps[i]);
  return std::vector<Guard>(guards, guards + n);
}

// ---- the per-backend cache ----

std::unordered_map<Oid, std::vector<Guard>> guard_cache;
std::unordered_set<Oid> guard_deps;
bool callback_registered = false;

void on_relcache_invalidation(Datum, Oid relid) {
  if (relid == InvalidOid || guard_deps.count(relid) > 0) {
    guard_cache.clear();
    guard_deps.clear();
  }
}

const std::vector<Guard>& guards_of(Relation rel) {
  if (!callback_registered) {
    pg_try([] { CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0); });
    callback_registered = true;
  }
  Oid relid = RelationGetRelid(rel);
  auto it = guard_cache.find(relid);
  if (it != guard_cache.end()) return it->second;
  std::vector<Oid> deps;
  std::vector<Guard> guards = compute_guards(rel, &deps);
  guard_deps.insert(deps.begin(), deps.end());
  return guard_cache.emplace(relid, std::move(guards)).first->second;
}

// ---- sequences ----

struct SeqParams {
  int64_t increment, min, max;
};

SeqParams sequence_params(Oid seq) {
  SeqParams p{};
  pg_try([&] {
    HeapTuple tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seq));
    if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for sequence %u", seq);
    auto* form = (Form_pg_sequence)GETSTRUCT(tup);
    p.increment = form->seqincrement;
    p.min = form->seqmin;
    p.max = form->seqmax;
    ReleaseSysCache(tup);
  });
  return p;
}

// What nextval() of `seq` would return now, read without the sequence's lock (a value
// only grows, except by an explicit setval). nullopt when the sequence was never called
// (or setval(..., false)), or when nothing can come after its last value.
struct NextValue {
  bool known;
  bool exhausted;
  int64_t value;
};

NextValue sequence_next(Oid seq, const SeqParams& p) {
  bool isnull = true;
  int64_t last = 0;
  {
    AsOwner as_owner;  // pg_sequence_last_value() wants SELECT or USAGE on the sequence
    pg_try([&] {
      FunctionCallInfo fc = (FunctionCallInfo)palloc0(SizeForFunctionCallInfo(1));
      InitFunctionCallInfoData(*fc, nullptr, 1, InvalidOid, nullptr, nullptr);
      fc->args[0].value = ObjectIdGetDatum(seq);
      fc->args[0].isnull = false;
      Datum d = pg_sequence_last_value(fc);
      isnull = fc->isnull;
      if (!isnull) last = DatumGetInt64(d);
      pfree(fc);
    });
  }
  if (isnull) return NextValue{false, false, 0};
  int64_t next;
  if (__builtin_add_overflow(last, p.increment, &next) || next > p.max || next < p.min)
    return NextValue{true, true, 0};
  return NextValue{true, false, next};
}

// Whether nextval() of `seq` could still return `target` or a value before it. A "no"
// is final; a "yes" is rechecked by advance_sequence() under the sequence's lock.
bool may_be_behind(Oid seq, const SeqParams& p, int64_t target) {
  NextValue n = sequence_next(seq, p);
  if (!n.known) return true;  // let the locked check decide
  if (n.exhausted) return false;
  return p.increment > 0 ? n.value <= target : n.value >= target;
}

int64_t to_int64(Datum d, Oid type) {
  if (type == INT2OID) return DatumGetInt16(d);
  if (type == INT4OID) return DatumGetInt32(d);
  return DatumGetInt64(d);
}

// The value a guard's sequence must get past: the largest value written (ascending
// sequences) or the smallest (descending ones), within the sequence's range.
struct Extreme {
  bool found;
  int64_t value;
};

void consider(Extreme& e, int64_t v, const SeqParams& p) {
  if (v < p.min || v > p.max) return;
  bool ascending = p.increment > 0;
  if (!e.found || (ascending ? v > e.value : v < e.value)) {
    e.found = true;
    e.value = v;
  }
}

// Transition mode: every row the statement inserted.
void scan_inserted(Relation rel, Tuplestorestate* rows, const std::vector<Guard>& guards,
                   const std::vector<SeqParams>& params, std::vector<Extreme>& ext) {
  size_t n = guards.size();
  pg_try([&] {
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
    // A read pointer of our own: other triggers may read the same transition table.
    int ptr = tuplestore_alloc_read_pointer(rows, 0);
    tuplestore_select_read_pointer(rows, ptr);
    tuplestore_rescan(rows);
    while (tuplestore_gettupleslot(rows, true, false, slot)) {
      for (size_t k = 0; k < n; k++) {
        bool isnull = true;
        Datum d = slot_getattr(slot, guards[k].attnum, &isnull);
        if (!isnull) consider(ext[k], to_int64(d, guards[k].type), params[k]);
      }
    }
    tuplestore_select_read_pointer(rows, 0);
    ExecDropSingleTupleTableSlot(slot);
  });
}

// Comparison procedures of an int2/int4/int8 column against an int8 bound (btree's
// integer_ops family has them all), for index scan keys.
RegProcedure ge_int8(Oid type) { return type == INT2OID ? F_INT28GE : type == INT4OID ? F_INT48GE : F_INT8GE; }
RegProcedure le_int8(Oid type) { return type == INT2OID ? F_INT28LE : type == INT4OID ? F_INT48LE : F_INT8LE; }

// Index mode, the common case: does the column hold a value between `from` and `to`
// (inclusive)? One descent to where such a value would be; for an up-to-date sequence
// nothing is there.
bool index_has_between(Relation rel, const Guard& g, Snapshot snap, int64_t from, int64_t to) {
  bool found = false;
  pg_try([&] {
    Relation idx = index_open(g.index, AccessShareLock);
    IndexScanDesc scan = compat::index_beginscan(rel, idx, snap, 2, 0);
    ScanKeyData keys[2];
    ScanKeyEntryInitialize(&keys[0], 0, 1, BTGreaterEqualStrategyNumber, INT8OID, InvalidOid, ge_int8(g.type),
                           Int64GetDatum(from));
    ScanKeyEntryInitialize(&keys[1], 0, 1, BTLessEqualStrategyNumber, INT8OID, InvalidOid, le_int8(g.type),
                           Int64GetDatum(to));
    index_rescan(scan, keys, 2, nullptr, 0);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    found = index_getnext_slot(scan, ForwardScanDirection, slot);
    ExecDropSingleTupleTableSlot(slot);
    index_endscan(scan);
    index_close(idx, AccessShareLock);
  });
  return found;
}

// Index mode, when the sequence is behind: the first non-NULL entry from the wanted end
// of the column's index. Returns false when the index has no visible entry.
bool index_extreme(Relation rel, const Guard& g, Snapshot snap, bool want_max, int64_t* out) {
  bool found = false;
  pg_try([&] {
    Relation idx = index_open(g.index, AccessShareLock);
    IndexScanDesc scan = compat::index_beginscan(rel, idx, snap, 1, 0);
    ScanKeyData key;
    ScanKeyEntryInitialize(&key, SK_ISNULL | SK_SEARCHNOTNULL, 1, InvalidStrategy, InvalidOid, InvalidOid, InvalidOid,
                           (Datum)0);
    index_rescan(scan, &key, 1, nullptr, 0);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    ScanDirection dir = want_max != g.index_desc ? BackwardScanDirection : ForwardScanDirection;
    if (index_getnext_slot(scan, dir, slot)) {
      bool isnull = true;
      Datum d = slot_getattr(slot, g.attnum, &isnull);
      if (!isnull) {
        found = true;
        *out = to_int64(d, g.type);
      }
    }
    ExecDropSingleTupleTableSlot(slot);
    index_endscan(scan);
    index_close(idx, AccessShareLock);
  });
  return found;
}

// The extreme of a column within the sequence's range, by query, as the table's owner.
// `only` leaves partitions out (a leaf is all it is asked about).
Extreme queried_extreme(Oid relid, Oid owner, AttrNumber attnum, const SeqParams& p, bool only) {
  std::string col = triggers::quote_ident(pg_call([&] { return (const char*)get_attname(relid, attnum, false); }));
  std::string sql = std::string("SELECT ") + (p.increment > 0 ? "pg_catalog.max(" : "pg_catalog.min(") + col +
                    ")::pg_catalog.int8 FROM " +
                    (only ? "ONLY " : "") + qualified_name(relid) + " WHERE " + col +
                    " OPERATOR(pg_catalog.>=) $1 AND " + col + " OPERATOR(pg_catalog.<=) $2";
  triggers::AsTableOwner as_owner(owner);
  Spi spi(Role::caller);
  spi.execute(sql.c_str(), {Param::int8(p.min), Param::int8(p.max)}, Snap::latest, true);
  std::optional<int64_t> v = spi.get_int8(0, 1);
  return Extreme{v.has_value(), v.value_or(0)};
}

void index_scan_all(Relation rel, const std::vector<Guard>& guards, const std::vector<SeqParams>& params,
                    std::vector<Extreme>& ext) {
  for (size_t k = 0; k < guards.size(); k++) {
    const Guard& g = guards[k];
    const SeqParams& p = params[k];
    bool ascending = p.increment > 0;
    if (g.index != InvalidOid) {
      NextValue next = sequence_next(g.sequence, p);
      if (next.exhausted) continue;  // nothing it hands out can collide any more
      if (next.known) {
        bool behind = ascending ? index_has_between(rel, g, SnapshotSelf, next.value, p.max)
                                : index_has_between(rel, g, SnapshotSelf, p.min, next.value);
        if (!behind) continue;
      }
      int64_t v = 0;
      if (!index_extreme(rel, g, SnapshotSelf, ascending, &v)) continue;  // no row with a value
      if (v >= p.min && v <= p.max) {
        consider(ext[k], v, p);
        continue;
      }
    }
    // No usable index any more, or the extreme lies outside the sequence's range. The
    // query's snapshot must see this statement's rows: move the command counter past them.
    pg_try([] { CommandCounterIncrement(); });
    ext[k] = queried_extreme(RelationGetRelid(rel), rel->rd_rel->relowner, g.attnum, p, true);
  }
}

struct Move {
  Oid sequence;
  int64_t target;
};

// One target per sequence: several columns may draw from it.
std::vector<Move> moves(const std::vector<Guard>& guards, const std::vector<SeqParams>& params,
                        const std::vector<Extreme>& ext) {
  std::vector<Move> out;
  for (size_t k = 0; k < guards.size(); k++) {
    if (!ext[k].found) continue;
    bool merged = false;
    for (Move& m : out) {
      if (m.sequence != guards[k].sequence) continue;
      bool ascending = params[k].increment > 0;
      if (ascending ? ext[k].value > m.target : ext[k].value < m.target) m.target = ext[k].value;
      merged = true;
    }
    if (!merged) out.push_back(Move{guards[k].sequence, ext[k].value});
  }
  return out;
}

std::vector<Oid> protected_relations(Oid table) {
  List* all = pg_call([&] { return find_all_inheritors(table, AccessShareLock, nullptr); });
  std::vector<Oid> out;
  ListCell* lc;
  foreach (lc, all) {
    Oid rel = lfirst_oid(lc);
    char kind = pg_call([&] { return get_rel_relkind(rel); });
    if (kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE) out.push_back(rel);
  }
  return out;
}

struct Target {
  Oid relid;
  char relkind;
  Oid owner;
  std::vector<Guard> guards;
};

Target describe(Oid relid) {
  Relation rel = pg_call([&] { return table_open(relid, AccessShareLock); });
  Target t{relid, rel->rd_rel->relkind, rel->rd_rel->relowner, {}};
  try {
    t.guards = compute_guards(rel, nullptr);
  } catch (...) {
    pg_try([&] { table_close(rel, AccessShareLock); });
    throw;
  }
  pg_try([&] { table_close(rel, AccessShareLock); });
  return t;
}

void notice(const std::string& msg) {
  pg_try([&] { ereport(NOTICE, (errcode(ERRCODE_SUCCESSFUL_COMPLETION), errmsg_internal("%s", msg.c_str()))); });
}

// Whether the current user may move `seq` (setval needs UPDATE on it).
bool may_update(Oid seq) {
  return pg_call([&] { return pg_class_aclcheck(seq, GetUserId(), ACL_UPDATE) == ACLCHECK_OK; });
}

std::string current_role_name() {
  return pg_call([] { return (const char*)GetUserNameFromId(GetUserId(), false); });
}

}  // namespace

void protect(Oid table) {
  triggers::require_owned_table(table, "seqguard_protect");
  Oid fn = triggers::extension_function(kTriggerFunction);
  std::vector<Target> targets;
  bool any = false;
  for (Oid relid : protected_relations(table)) {
    targets.push_back(describe(relid));
    any = any || !targets.back().guards.empty();
  }
  if (!any)
    fail(core::sqlstate::object_not_in_prerequisite_state,
         "table " + qualified_name(table) + " has no column that draws from a sequence",
         {}, "It guards identity, serial and DEFAULT nextval(...) columns of integer types.");
  // Before anything is installed or moved: owning a table whose column defaults to
  // nextval('someone_else.seq') gives no right over that sequence.
  for (const Target& t : targets)
    for (const Guard& g : t.guards)
      if (!may_update(g.sequence)) {
        std::string col = pg_call([&] { return (const char*)get_attname(t.relid, g.attnum, false); });
        fail(core::sqlstate::insufficient_privilege,
             "permission denied for sequence " + qualified_name(g.sequence),
             "Column " + triggers::quote_ident(col) + " of " + qualified_name(t.relid) +
                 " draws from it; protecting the table moves it (setval), which needs UPDATE on it.",
             "GRANT UPDATE ON SEQUENCE " + qualified_name(g.sequence) + " to the role that protects the table.");
      }

  for (const Target& t : targets) {
    if (t.guards.empty()) continue;
    bool transition = t.relkind == RELKIND_PARTITIONED_TABLE;
    for (const Guard& g : t.guards) transition = transition || g.index == InvalidOid;
    bool installed = false;
    for (const triggers::Found& f : triggers::calling(t.relid, fn)) {
      if (f.has_new_table == transition && f.name == kTriggerName) {
        installed = true;
      } else {
        triggers::run_ddl("DROP TRIGGER " + triggers::quote_ident(f.name) + " ON " + qualified_name(t.relid));
      }
    }
    if (installed) continue;
    triggers::run_ddl(std::string("CREATE TRIGGER ") + kTriggerName + " AFTER INSERT ON " + qualified_name(t.relid) +
                      (transition ? std::string(" REFERENCING NEW TABLE AS ") + kTransitionTable : std::string()) +
                      " FOR EACH STATEMENT EXECUTE FUNCTION seqguard." + kTriggerFunction + "()");
  }

  // Rows already there: the same moves, once, over the data of every leaf.
  std::vector<Move> all;
  std::vector<Guard> all_guards;
  std::vector<SeqParams> all_params;
  std::vector<Extreme> all_ext;
  for (const Target& t : targets) {
    if (t.relkind != RELKIND_RELATION) continue;
    for (const Guard& g : t.guards) {
      SeqParams p = sequence_params(g.sequence);
      all_guards.push_back(g);
      all_params.push_back(p);
      all_ext.push_back(queried_extreme(t.relid, t.owner, g.attnum, p, true));
    }
  }
  for (const Move& m : moves(all_guards, all_params, all_ext)) {
    Spi spi;
    Advance a = advance_sequence(spi, m.sequence, m.target);
    if (a.moved)
      notice("moved sequence " + qualified_name(m.sequence) + " from next " + std::to_string(a.old_next) +
             " to next " + std::to_string(a.new_next) + " (past " + std::to_string(m.target) +
             ", already in " + qualified_name(table) + ")");
  }
}

void unprotect(Oid table) {
  triggers::require_owned_table(table, "seqguard_unprotect");
  Oid fn = triggers::extension_function(kTriggerFunction);
  int dropped = 0;
  for (Oid relid : protected_relations(table)) {
    for (const triggers::Found& f : triggers::calling(relid, fn)) {
      triggers::run_ddl("DROP TRIGGER " + triggers::quote_ident(f.name) + " ON " + qualified_name(relid));
      dropped++;
    }
  }
  if (dropped == 0)
    fail(core::sqlstate::undefined_object, "table " + qualified_name(table) + " is not protected");
}

Datum protect_trigger(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    fail("39P01", "seqguard.protect_sequences() must be called as a trigger");
  auto* td = (TriggerData*)fcinfo->context;
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !TRIGGER_FIRED_BY_INSERT(td->tg_event))
    fail("39P01", "seqguard.protect_sequences() must fire AFTER INSERT FOR EACH STATEMENT; use seqguard_protect()");
  Relation rel = td->tg_relation;
  const std::vector<Guard>& cached = guards_of(rel);
  if (cached.empty()) return PointerGetDatum(nullptr);
  std::vector<Guard> guards = cached;  // the cache may be invalidated by what follows
  std::vector<SeqParams> params;
  params.reserve(guards.size());
  for (const Guard& g : guards) params.push_back(sequence_params(g.sequence));
  std::vector<Extreme> ext(guards.size(), Extreme{false, 0});
  if (td->tg_newtable != nullptr)
    scan_inserted(rel, td->tg_newtable, guards, params, ext);
  else
    index_scan_all(rel, guards, params, ext);
  for (const Move& m : moves(guards, params, ext)) {
    SeqParams p = sequence_params(m.sequence);
    if (!may_be_behind(m.sequence, p, m.target)) continue;
    // The inserting role's right, checked only when there is something to move.
    if (!may_update(m.sequence)) {
      std::string role = current_role_name();
      {
        Spi spi;  // "may be behind" may be a sequence never called: look closer before warning
        SequenceState st = read_sequence(spi, m.sequence);
        if (st.increment > 0 ? st.next_value() > m.target : st.next_value() < m.target) continue;
      }
      std::string msg = "sequence " + qualified_name(m.sequence) + " is behind the values in " +
                        qualified_name(RelationGetRelid(rel)) + " and was not moved: role " + role +
                        " may not UPDATE it";
      pg_try([&] {
        ereport(WARNING, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg_internal("%s", msg.c_str()),
                          errhint("The function seqguard_check_drift() reports it; seqguard_sync(), run by a role "
                                  "that may UPDATE the sequence, moves it.")));
      });
      continue;
    }
    Spi spi;
    advance_sequence(spi, m.sequence, m.target);
  }
  return PointerGetDatum(nullptr);
}

}  // namespace seqguard::pg
