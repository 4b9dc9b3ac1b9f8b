// Sequence drift: discovery through the catalogs, checks, and forward-only repair.
//
// Which columns draw from which sequence is read from the catalogs, never guessed from
// names: a sequence OWNED BY a column (serial, deptype 'a'), an identity sequence
// (deptype 'i'), and a column DEFAULT whose expression calls nextval() on a sequence
// (the pg_attrdef row depends normally, 'n', on the sequence; the expression tree is
// checked for the nextval() call itself). Only integer columns (smallint, integer,
// bigint and domains over them) are compared: their values are the sequence's values.
//
// Inherited defaults are folded into their parent: a partition or inheritance child
// whose column draws from the same sequence as the same column of an ancestor is
// covered by the ancestor's row, because SELECT max(col) FROM parent reads every
// descendant (and needs only the parent's privileges, as any query through it does).
//
// Everything runs with the caller's privileges: the functions are not SECURITY DEFINER
// and the SPI connection keeps the caller's role, so sync can do nothing the caller
// could not do with max() and setval() by hand. A max() the caller computes is only
// worth something if the caller sees every row: under row-level security (policies that
// apply to the caller) it may see some only, and a sequence "synced" past those could
// still hand out the values of the others. Such a table is no_privilege, its extreme
// never computed nor shown. A sync that would write is refused up front in a read-only
// transaction or on a standby (25006, as setval() is), before anything is read. The SQL
// is fully schema-qualified (functions, casts, operators) and identifiers are pasted
// only through quote_identifier()/quote_qualified_identifier(), so search_path changes
// nothing.
#include "seqguard/core/drift.hpp"

#include "pg/drift.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "pg/sequence.hpp"
#include "pg/series.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/pg_inherits.h"
#include "executor/tuptable.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/rls.h"
}

namespace seqguard::pg {

namespace {

constexpr const char* kSyncFailed = core::sqlstate::object_not_in_prerequisite_state;  // 55000

// One column that draws from one sequence.
struct Use {
  Oid table;
  AttrNumber attnum;
  std::string column;
  Oid sequence;
  std::string table_schema;
  std::string table_name;  // "schema"."table", quoted as needed
  bool identity;
  bool visible;          // USAGE on the table's schema
  bool column_readable;  // SELECT on the column (or the table), and visible
  bool rows_hidden;      // row-level security applies to the caller on this table
  core::ValueRange range;
  Oid base_type;         // INT2OID, INT4OID or INT8OID
  bool folded = false;   // covered by the same column of an ancestor

  std::string label() const;
};

struct SequenceInfo {
  std::string name;  // "schema"."sequence"
  bool readable;     // SELECT on it and USAGE on its schema
  bool may_update;   // UPDATE on it (setval)
  bool ascending;
  int64_t start, increment, min, max;  // pg_sequence, as discovery read it
  bool cycle;
  bool loaded = false;

  core::SequenceSnapshot snapshot(int64_t last_value, bool is_called) const {
    return core::SequenceSnapshot{last_value, is_called, start, increment, min, max, cycle};
  }
  std::optional<core::SequenceSnapshot> state;  // only when readable
};

std::string quote_ident(const std::string& name) {
  const char* q = pg_call([&] { return quote_identifier(name.c_str()); });
  return q;
}

std::string quote_qualified(const std::string& schema, const std::string& name) {
  const char* q = pg_call([&] { return quote_qualified_identifier(schema.c_str(), name.c_str()); });
  return q;
}

std::string Use::label() const { return table_name + "." + quote_ident(column); }

void notice(int level, const std::string& msg) {
  int code = level >= WARNING ? ERRCODE_WARNING : ERRCODE_SUCCESSFUL_COMPLETION;
  pg_try([&] { ereport(level, (errcode(code), errmsg_internal("%s", msg.c_str()))); });
}

// --- nextval() in a column default -------------------------------------------------

struct NextvalSearch {
  Oid sequence;
  bool found;
};

// expression_tree_walker callback: only trivially destructible locals, since the walker
// runs inside pg_call.
bool find_nextval(Node* node, void* context) {
  if (node == nullptr) return false;
  auto* search = static_cast<NextvalSearch*>(context);
  if (IsA(node, FuncExpr)) {
    auto* f = reinterpret_cast<FuncExpr*>(node);
    if (f->funcid == F_NEXTVAL && list_length(f->args) == 1) {
      auto* arg = static_cast<Node*>(linitial(f->args));
      if (IsA(arg, Const)) {
        auto* c = reinterpret_cast<Const*>(arg);
        if (!c->constisnull && c->consttype == REGCLASSOID && DatumGetObjectId(c->constvalue) == search->sequence) {
          search->found = true;
          return true;
        }
      }
    }
  }
  return compat::walk_expression_tree(node, find_nextval, context);
}

bool default_calls_nextval(const std::string& adbin, Oid sequence) {
  NextvalSearch search{sequence, false};
  pg_try([&] {
    Node* expr = static_cast<Node*>(stringToNode(adbin.c_str()));
    find_nextval(expr, &search);
  });
  return search.found;
}

// Whether row-level security policies apply to the current user on `table` (and so may
// hide rows of it): RLS_ENABLED. RLS_NONE_ENV (owner without FORCE, BYPASSRLS,
// superuser) and RLS_NONE see every row. With row_security = off a query that policies
// apply to fails: noError makes that RLS_ENABLED too, which is what it is.
bool rls_hides_rows(Oid table) {
  return pg_call([&] { return check_enable_rls(table, InvalidOid, true) == RLS_ENABLED; });
}

std::optional<core::ValueRange> integer_range(Oid base) {
  switch (base) {
    case INT2OID:
      return core::int2_range;
    case INT4OID:
      return core::int4_range;
    case INT8OID:
      return core::int8_range;
    default:
      return std::nullopt;
  }
}

// --- reads without a statement -----------------------------------------------------

// After a restore a check reads thousands of sequences and of tables of a few rows.
// Parsing, planning and starting an executor for each costs several times what reading
// them costs (and the minimum/maximum optimisation plans each aggregate twice), so
// these read the same tuples a SeqScan of that SELECT would, through the table access
// method, with the statement's snapshot, under the same AccessShareLock (kept to the end
// of the transaction, as a statement's is) and after the same privilege checks, made
// again here since discovery read them. They answer std::nullopt for anything they are
// not sure to read as the statement would: the caller then runs the statement, which
// behaves (and fails) exactly as it always did.

// Larger tables go through SQL: the planner reads their maximum from an index.
constexpr BlockNumber kDirectScanBlocks = 8;

// Also what the planner refuses: an unlogged relation on a standby (its statement fails
// there with "cannot access temporary or unlogged relations during recovery").
bool may_select(Relation rel, AttrNumber attnum) {
  if (!RelationIsPermanent(rel) && RecoveryInProgress()) return false;
  Oid user = GetUserId();
  Oid rel_id = RelationGetRelid(rel);
  if (compat::namespace_aclcheck(rel->rd_rel->relnamespace, user, ACL_USAGE) != ACLCHECK_OK) return false;
  if (pg_class_aclcheck(rel_id, user, ACL_SELECT) == ACLCHECK_OK) return true;
  return attnum > 0 && pg_attribute_aclcheck(rel_id, attnum, user, ACL_SELECT) == ACLCHECK_OK;
}

struct DirectExtreme {
  bool read;  // false: run the statement instead
  bool found;
  int64_t value;
};

// MAX(column) (MIN when !ascending) of a plain table without descendants, of at most
// kDirectScanBlocks pages, that the caller may read whole (no row-level security).
std::optional<std::optional<int64_t>> direct_extreme(Oid table, AttrNumber attnum, Oid base_type, bool ascending) {
  DirectExtreme r{false, false, 0};
  pg_try([&] {
    if (!ActiveSnapshotSet()) return;
    Relation rel = try_table_open(table, AccessShareLock);
    if (rel == nullptr) return;
    TupleDesc desc = RelationGetDescr(rel);
    if (rel->rd_rel->relkind == RELKIND_RELATION && attnum > 0 && attnum <= desc->natts &&
        !TupleDescAttr(desc, attnum - 1)->attisdropped && !has_subclass(table) &&
        RelationGetNumberOfBlocks(rel) <= kDirectScanBlocks && may_select(rel, attnum) &&
        check_enable_rls(table, InvalidOid, true) != RLS_ENABLED) {
      TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
      TupleTableSlot* slot = table_slot_create(rel, nullptr);
      while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum d = slot_getattr(slot, attnum, &isnull);
        if (isnull) continue;
        int64_t v = base_type == INT2OID   ? DatumGetInt16(d)
                    : base_type == INT4OID ? DatumGetInt32(d)
                                           : DatumGetInt64(d);
        if (!r.found || (ascending ? v > r.value : v < r.value)) r.value = v;
        r.found = true;
      }
      ExecDropSingleTupleTableSlot(slot);
      table_endscan(scan);
      r.read = true;
    }
    table_close(rel, NoLock);
  });
  if (!r.read) return std::nullopt;
  return r.found ? std::optional<int64_t>(r.value) : std::nullopt;
}

struct DirectSequence {
  bool read;
  int64_t last_value;
  bool is_called;
};

// last_value and is_called, as SELECT last_value, is_called FROM the sequence reads them.
DirectSequence direct_sequence(Oid seq) {
  DirectSequence r{false, 0, false};
  pg_try([&] {
    if (!ActiveSnapshotSet()) return;
    Relation rel = try_relation_open(seq, AccessShareLock);
    if (rel == nullptr) return;
    TupleDesc desc = RelationGetDescr(rel);
    AttrNumber last = InvalidAttrNumber, called = InvalidAttrNumber;
    for (int i = 0; i < desc->natts; i++) {
      const char* name = NameStr(TupleDescAttr(desc, i)->attname);
      if (strcmp(name, "last_value") == 0 && TupleDescAttr(desc, i)->atttypid == INT8OID) last = (AttrNumber)(i + 1);
      if (strcmp(name, "is_called") == 0 && TupleDescAttr(desc, i)->atttypid == BOOLOID) called = (AttrNumber)(i + 1);
    }
    if (rel->rd_rel->relkind == RELKIND_SEQUENCE && last != InvalidAttrNumber && called != InvalidAttrNumber &&
        may_select(rel, InvalidAttrNumber)) {
      TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
      TupleTableSlot* slot = table_slot_create(rel, nullptr);
      if (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        bool null_last, null_called;
        Datum l = slot_getattr(slot, last, &null_last);
        Datum c = slot_getattr(slot, called, &null_called);
        if (!null_last && !null_called) {
          r.last_value = DatumGetInt64(l);
          r.is_called = DatumGetBool(c);
          r.read = true;
        }
      }
      ExecDropSingleTupleTableSlot(slot);
      table_endscan(scan);
    }
    relation_close(rel, NoLock);
  });
  return r;
}

// --- discovery ---------------------------------------------------------------------

// Candidate (table, column, sequence) triples, with what the checks need of each. The
// caller's privileges are checked in C (Discovery::Discovery), once per column found.
constexpr const char* kUsesSql = R"SQL(
SELECT c.oid, a.attnum::pg_catalog.int8, a.attname::pg_catalog.text, s.oid, n.nspname::pg_catalog.text,
       a.attidentity OPERATOR(pg_catalog.<>) '', c.relnamespace, s.relnamespace,
       a.atttypid, u.adbin, c.relname::pg_catalog.text, c.relrowsecurity,
       sn.nspname::pg_catalog.text, s.relname::pg_catalog.text,
       q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcycle
  FROM (SELECT d.refobjid AS tbl, d.refobjsubid AS attnum, d.objid AS seq, NULL::pg_catalog.text AS adbin
          FROM pg_catalog.pg_depend d
         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.refobjsubid OPERATOR(pg_catalog.>) 0
           AND (d.deptype OPERATOR(pg_catalog.=) 'a' OR d.deptype OPERATOR(pg_catalog.=) 'i')
        UNION ALL
        SELECT ad.adrelid, ad.adnum, d.refobjid, ad.adbin::pg_catalog.text
          FROM pg_catalog.pg_attrdef ad
          JOIN pg_catalog.pg_depend d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) ad.oid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'n') u
  JOIN pg_catalog.pg_class s
    ON s.oid OPERATOR(pg_catalog.=) u.seq AND s.relkind OPERATOR(pg_catalog.=) 'S'
  JOIN pg_catalog.pg_namespace sn ON sn.oid OPERATOR(pg_catalog.=) s.relnamespace
  JOIN pg_catalog.pg_sequence q ON q.seqrelid OPERATOR(pg_catalog.=) s.oid
  JOIN pg_catalog.pg_class c
    ON c.oid OPERATOR(pg_catalog.=) u.tbl
   AND (c.relkind OPERATOR(pg_catalog.=) 'r' OR c.relkind OPERATOR(pg_catalog.=) 'p')
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  JOIN pg_catalog.pg_attribute a
    ON a.attrelid OPERATOR(pg_catalog.=) u.tbl AND a.attnum OPERATOR(pg_catalog.=) u.attnum
   AND NOT a.attisdropped
 WHERE n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'
   AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'
   AND NOT pg_catalog.pg_is_other_temp_schema(n.oid)
)SQL";

class Discovery {
 public:
  Discovery();

  std::vector<Use> uses;  // sorted by table name, attnum, sequence name

  SequenceInfo& sequence(Oid seq);
  // MAX(column) (MIN when !ascending) through the table and all its descendants.
  std::optional<int64_t> extreme(const Use& u, bool ascending);
  bool descends_from(Oid rel, Oid ancestor) const;
  std::set<Oid> ancestors(Oid rel) const;
  // The caller-role SPI connection everything here reads (and moves sequences) with.
  Spi& spi() { return spi_; }

 private:
  std::multimap<Oid, Oid> parents_;  // pg_inherits: child -> parent
  std::map<Oid, SequenceInfo> sequences_;
  std::map<std::tuple<Oid, AttrNumber, bool>, std::optional<int64_t>> extremes_;
  Spi spi_{Role::caller};
};

Discovery::Discovery() {
  struct Raw {
    Use use;
    Oid table_schema_oid, seq_schema_oid;
    Oid type;
    std::optional<std::string> adbin;
    std::string table, seq_schema, seq;
    bool row_security;
    int64_t start, increment, min, max;
    bool cycle;
  };
  std::vector<Raw> raw;
  uint64_t n;
  {
    // Hash (or merge) joins only, so that discovery costs what reading the catalogs
    // once costs, whatever their statistics say. Right after a restore the catalogs
    // still carry the statistics of a new database, in which no sequence exists: the
    // planner then expects one sequence in pg_class and picks a nested loop that
    // rescans the whole pg_depend union once per sequence, quadratic in the number of
    // tables (minutes at a few thousand), which is exactly when sync_all is run. Every
    // join of the query is an equality, so a hash join is always possible; the plan is
    // kept for the backend (Spi::execute), and was, like any replan, made under these
    // settings. A nest level of its own restores the caller's settings afterwards.
    PinnedSettings linear_joins{{"enable_nestloop", "off"}};
    n = spi_.execute(kUsesSql, {}, Snap::transaction, true);
  }
  for (uint64_t i = 0; i < n; i++) {
    Raw r{};
    r.use.table = *spi_.get_oid(i, 1);
    r.use.attnum = (AttrNumber)*spi_.get_int8(i, 2);
    r.use.column = *spi_.get_text(i, 3);
    r.use.sequence = *spi_.get_oid(i, 4);
    r.use.table_schema = *spi_.get_text(i, 5);
    r.use.identity = spi_.get_bool(i, 6).value_or(false);
    r.table_schema_oid = *spi_.get_oid(i, 7);
    r.seq_schema_oid = *spi_.get_oid(i, 8);
    r.type = *spi_.get_oid(i, 9);
    r.adbin = spi_.get_text(i, 10);
    r.table = *spi_.get_text(i, 11);
    r.row_security = spi_.get_bool(i, 12).value_or(true);
    r.seq_schema = *spi_.get_text(i, 13);
    r.seq = *spi_.get_text(i, 14);
    r.start = *spi_.get_int8(i, 15);
    r.increment = *spi_.get_int8(i, 16);
    r.min = *spi_.get_int8(i, 17);
    r.max = *spi_.get_int8(i, 18);
    r.cycle = spi_.get_bool(i, 19).value_or(false);
    raw.push_back(std::move(r));
  }
  n = spi_.execute("SELECT inhrelid, inhparent FROM pg_catalog.pg_inherits", {}, Snap::transaction, true);
  for (uint64_t i = 0; i < n; i++) parents_.emplace(*spi_.get_oid(i, 1), *spi_.get_oid(i, 2));

  Oid user = pg_call([] { return GetUserId(); });
  std::map<Oid, bool> usage_of;
  auto usage = [&](Oid nsp) {
    auto it = usage_of.find(nsp);
    if (it == usage_of.end()) {
      bool ok = pg_call([&] {
        return SearchSysCacheExists1(NAMESPACEOID, ObjectIdGetDatum(nsp)) &&
               compat::namespace_aclcheck(nsp, user, ACL_USAGE) == ACLCHECK_OK;
      });
      it = usage_of.emplace(nsp, ok).first;
    }
    return it->second;
  };
  auto may = [&](Oid rel, AclMode mode, AttrNumber attnum) {
    return pg_call([&] {
      bool missing = false;
      if (pg_class_aclcheck_ext(rel, user, mode, &missing) == ACLCHECK_OK) return true;
      return !missing && attnum > 0 && pg_attribute_aclcheck_ext(rel, attnum, user, mode, &missing) == ACLCHECK_OK;
    });
  };

  // A serial column is found twice, through OWNED BY and through its DEFAULT: its
  // OWNED BY row first, so that its default's expression is not read at all.
  std::stable_partition(raw.begin(), raw.end(), [](const Raw& r) { return !r.adbin; });
  std::set<std::tuple<Oid, AttrNumber, Oid>> seen;
  for (Raw& r : raw) {
    if (r.adbin && seen.count(std::make_tuple(r.use.table, r.use.attnum, r.use.sequence)) > 0) continue;
    // A default that mentions the sequence without calling nextval() on it (currval(),
    // a regclass constant) does not draw from it.
    if (r.adbin && !default_calls_nextval(*r.adbin, r.use.sequence)) continue;
    Oid base = pg_call([&] { return getBaseType(r.type); });
    std::optional<core::ValueRange> range = integer_range(base);
    if (!range) continue;
    r.use.base_type = base;
    if (!seen.emplace(r.use.table, r.use.attnum, r.use.sequence).second) continue;
    r.use.range = *range;
    // The caller's privileges, as has_column_privilege() and has_sequence_privilege()
    // answer them, a relation dropped since the query counting as no privilege. The
    // table's privilege first: it is what callers usually have, and a column's privilege
    // would read pg_attribute again, one index probe per column after a restore.
    r.use.visible = usage(r.table_schema_oid);
    r.use.column_readable = r.use.visible && may(r.use.table, ACL_SELECT, r.use.attnum);
    // Names and parameters come with the query: after a restore, looking each up in
    // the system caches would read the catalogs again, one index probe per name.
    // Without relrowsecurity no policy applies to anyone (check_enable_rls says so
    // first).
    r.use.rows_hidden = r.row_security && rls_hides_rows(r.use.table);
    r.use.table_name = quote_qualified(r.use.table_schema, r.table);
    if (sequences_.find(r.use.sequence) == sequences_.end()) {
      SequenceInfo info;
      info.name = quote_qualified(r.seq_schema, r.seq);
      info.readable = usage(r.seq_schema_oid) && may(r.use.sequence, ACL_SELECT, InvalidAttrNumber);
      info.may_update = may(r.use.sequence, ACL_UPDATE, InvalidAttrNumber);
      info.start = r.start;
      info.increment = r.increment;
      info.min = r.min;
      info.max = r.max;
      info.cycle = r.cycle;
      info.ascending = r.increment > 0;
      sequences_.emplace(r.use.sequence, std::move(info));
    }
    uses.push_back(std::move(r.use));
  }

  // Fold a descendant's use into an ancestor's use of the same sequence by the same
  // column: one lookup per ancestor, so thousands of partitions cost little.
  std::set<std::tuple<Oid, std::string, Oid>> by_table;  // (sequence, column, table)
  for (const Use& u : uses) by_table.emplace(u.sequence, u.column, u.table);
  for (Use& u : uses) {
    if (parents_.find(u.table) == parents_.end()) continue;
    for (Oid ancestor : ancestors(u.table))
      if (by_table.count(std::make_tuple(u.sequence, u.column, ancestor)) > 0) u.folded = true;
  }
  std::sort(uses.begin(), uses.end(), [this](const Use& a, const Use& b) {
    return std::tie(a.table_name, a.attnum, sequences_.at(a.sequence).name) <
           std::tie(b.table_name, b.attnum, sequences_.at(b.sequence).name);
  });
}

std::set<Oid> Discovery::ancestors(Oid rel) const {
  // Over pg_inherits; multiple inheritance makes it a graph, not a chain.
  std::vector<Oid> frontier{rel};
  std::set<Oid> found;
  while (!frontier.empty()) {
    Oid cur = frontier.back();
    frontier.pop_back();
    auto [lo, hi] = parents_.equal_range(cur);
    for (auto it = lo; it != hi; ++it)
      if (found.insert(it->second).second) frontier.push_back(it->second);
  }
  return found;
}

bool Discovery::descends_from(Oid rel, Oid ancestor) const { return ancestors(rel).count(ancestor) > 0; }

SequenceInfo& Discovery::sequence(Oid seq) {
  SequenceInfo& info = sequences_.at(seq);
  if (!info.loaded && info.readable) {
    DirectSequence d = direct_sequence(seq);
    if (!d.read) {
      SequenceState st = read_sequence(spi_, seq);
      d = DirectSequence{true, st.last_value, st.is_called};
    }
    info.state = info.snapshot(d.last_value, d.is_called);
  }
  info.loaded = true;
  return info;
}

std::optional<int64_t> Discovery::extreme(const Use& u, bool ascending) {
  auto key = std::make_tuple(u.table, u.attnum, ascending);
  auto it = extremes_.find(key);
  if (it != extremes_.end()) return it->second;
  std::optional<std::optional<int64_t>> direct = direct_extreme(u.table, u.attnum, u.base_type, ascending);
  if (direct) {
    extremes_.emplace(key, *direct);
    return *direct;
  }
  // A plain aggregate over the whole table, inheritance children and partitions
  // included: with an index on the column, the planner answers it with one index probe
  // per partition (the min/max optimisation), so checking is cheap on large tables.
  std::string sql = std::string("SELECT pg_catalog.") + (ascending ? "max(" : "min(") + quote_ident(u.column) +
                    ")::pg_catalog.int8 FROM " + u.table_name;
  spi_.execute_dynamic(sql, true);
  std::optional<int64_t> v = spi_.get_int8(0, 1);
  extremes_.emplace(key, v);
  return v;
}

void require_schema(const std::optional<std::string>& schema_name) {
  if (!schema_name) return;
  Oid nsp = pg_call([&] { return get_namespace_oid(schema_name->c_str(), true); });
  if (nsp == InvalidOid) fail("3F000", "schema \"" + *schema_name + "\" does not exist");
  AclResult acl = pg_call([&] { return compat::namespace_aclcheck(nsp, GetUserId(), ACL_USAGE); });
  if (acl != ACLCHECK_OK)
    fail(core::sqlstate::insufficient_privilege, "permission denied for schema " + quote_ident(*schema_name));
}

// --- sync --------------------------------------------------------------------------

// What a sync covers: everything visible, one schema, or one table and its descendants.
struct Scope {
  const char* function;  // for messages
  std::optional<std::string> schema;
  Oid table = InvalidOid;
};

struct Failure {
  std::string object;  // "sequence public.s" or "series \"ICCT\""
  std::string status;
  std::string detail;
};

bool series_sync_allowed() {
  Spi spi(Role::caller);
  uint64_t n = spi.execute(
      "SELECT pg_catalog.has_function_privilege(p.oid, 'EXECUTE') FROM pg_catalog.pg_extension e "
      "JOIN pg_catalog.pg_proc p ON p.pronamespace OPERATOR(pg_catalog.=) e.extnamespace "
      "WHERE e.extname OPERATOR(pg_catalog.=) 'seqguard' "
      "AND p.proname OPERATOR(pg_catalog.=) 'seqguard_sync_series'",
      {}, Snap::transaction, true);
  return n > 0 && spi.get_bool(0, 1).value_or(false);
}

// The idempotency registry's job ids: seqguard.idem_job_id against the largest job id
// in seqguard.idem_keys. Read as the extension's owner (only callers who may sync
// series get here).
struct JobIds {
  Oid table;
  Oid sequence;
  SequenceState state;
  std::optional<int64_t> max;
  core::DriftDecision decision;
};

std::optional<JobIds> job_ids() {
  Oid schema = catalog().schema;
  JobIds j{};
  pg_call([&] {
    j.table = get_relname_relid("idem_keys", schema);
    j.sequence = get_relname_relid("idem_job_id", schema);
  });
  if (j.table == InvalidOid || j.sequence == InvalidOid) return std::nullopt;
  Spi owner;
  j.state = read_sequence(owner, j.sequence);
  owner.execute("SELECT pg_catalog.max(job_id) FROM seqguard.idem_keys", {}, Snap::transaction, true);
  j.max = owner.get_int8(0, 1);
  core::DriftInput in;
  in.sequence = core::SequenceSnapshot{j.state.last_value, j.state.is_called, j.state.start, j.state.increment,
                                       j.state.min,        j.state.max,       false};
  in.column_extreme = j.max;
  j.decision = core::decide_drift(in);
  return j;
}

// seqguard's own state in a sync's scope: the series stored in a column of it (every
// column of such a series counts, in scope or not, as every column of a sequence does)
// and, for a sync of everything or of seqguard's schema, the series whose fast counters
// lack their sequence and the job ids.
struct OwnState {
  std::map<std::string, std::vector<SeriesColumn>> series;
  std::optional<JobIds> job_ids;
};

OwnState own_state(const Scope& scope) {
  OwnState own;
  std::string state_schema = pg_call([&] { return (const char*)get_namespace_name(catalog().schema); });
  bool everything = scope.table == InvalidOid && (!scope.schema || *scope.schema == state_schema);
  std::map<std::string, std::vector<SeriesColumn>> all = series_columns();
  std::set<Oid> in_scope_tables;
  if (scope.table != InvalidOid) {
    pg_try([&] {
      List* rels = find_all_inheritors(scope.table, NoLock, nullptr);
      ListCell* lc;
      foreach (lc, rels) in_scope_tables.insert(lfirst_oid(lc));
    });
  }
  for (auto& [name, columns] : all) {
    bool wanted = false;
    for (const SeriesColumn& c : columns) {
      if (scope.table != InvalidOid) {
        wanted = wanted || in_scope_tables.count(c.table) > 0;
      } else if (scope.schema) {
        std::string schema = pg_call([&] { return (const char*)get_namespace_name(get_rel_namespace(c.table)); });
        wanted = wanted || schema == *scope.schema;
      } else {
        wanted = true;
      }
    }
    if (wanted) own.series.emplace(name, std::move(columns));
  }
  if (everything) {
    for (const std::string& name : series_missing_sequences()) own.series.try_emplace(name);
    own.job_ids = job_ids();
  }
  return own;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); i++) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

int32_t sync(bool dry_run, const Scope& scope) {
  // Without this a standby fails later, and only if something is behind, with 55000
  // "cannot acquire lock mode ExclusiveLock" on the first sequence to move.
  std::string call = std::string(scope.function) + "()";
  if (!dry_run) pg_try([&] { PreventCommandIfReadOnly(call.c_str()); });
  require_schema(scope.schema);
  Discovery disc;
  auto in_scope = [&](Oid table, const std::string& schema) {
    if (scope.table != InvalidOid) return table == scope.table || disc.descends_from(table, scope.table);
    return !scope.schema || schema == *scope.schema;
  };

  // The sequences in scope, in name order; each is compared with every column that
  // draws from it, in scope or not: moving it past only some of them would not do.
  std::map<std::string, Oid> selected;
  for (const Use& u : disc.uses)
    if ((u.visible || scope.table != InvalidOid) && in_scope(u.table, u.table_schema))
      selected.emplace(disc.sequence(u.sequence).name, u.sequence);

  std::map<Oid, std::vector<const Use*>> columns_of;  // unfolded uses, by sequence
  for (const Use& u : disc.uses)
    if (!u.folded) columns_of[u.sequence].push_back(&u);

  int32_t moved = 0;
  std::vector<Failure> failures;
  for (const auto& [name, seq] : selected) {
    SequenceInfo& info = disc.sequence(seq);
    core::DriftInput in;
    in.sequence = info.state;
    in.may_update = info.may_update;
    std::vector<std::string> labels;
    for (const Use* use : columns_of[seq]) {
      const Use& u = *use;
      labels.push_back(u.label());
      in.column_range = core::intersect(in.column_range, u.range);
      in.rows_hidden = in.rows_hidden || u.rows_hidden;
      if (!u.column_readable) in.column_readable = false;
      if (!u.column_readable || u.rows_hidden) continue;
      in.column_extreme = core::further(info.ascending, in.column_extreme, disc.extreme(u, info.ascending));
    }
    if (!in.column_readable || in.rows_hidden) in.column_extreme.reset();
    core::DriftDecision d = core::decide_drift(in);
    std::string columns = join(labels, ", ");
    std::string what = "sequence " + name;
    switch (d.status) {
      case core::DriftStatus::behind: {
        std::string why = std::string(" (") + (info.ascending ? "max" : "min") + " of " + columns + " is " +
                          std::to_string(*in.column_extreme) + ")";
        if (dry_run) {
          notice(NOTICE, "would move " + what + " from next " + std::to_string(*d.next_value) +
                             " to next " + std::to_string(*d.new_next) + why);
          moved++;
          break;
        }
        // Forward-only under the sequence's ExclusiveLock: if concurrent nextval() calls
        // already took it past the target, it is left where it is.
        Advance a = advance_sequence(disc.spi(), seq, *d.target);
        if (a.moved) {
          notice(NOTICE, "moved " + what + " from next " + std::to_string(a.old_next) + " to next " +
                             std::to_string(a.new_next) + why);
          moved++;
        }
        break;
      }
      case core::DriftStatus::exhausted:
      case core::DriftStatus::no_privilege: {
        Failure f{what, core::drift_status_name(d.status), what + " (" + columns + "): " +
                                                               core::drift_status_name(d.status) + ": " + d.reason};
        if (dry_run) notice(WARNING, "cannot move " + f.detail);
        failures.push_back(std::move(f));
        break;
      }
      case core::DriftStatus::ok:
      case core::DriftStatus::empty:
        break;
    }
  }

  // seqguard's own state. It belongs to the extension's owner: a caller who may not run
  // seqguard_sync_series has no business with it, and it is outside its scope.
  int32_t series_rehearsed = 0;
  if (series_sync_allowed()) {
    OwnState own = own_state(scope);
    if (own.job_ids) {
      JobIds& j = *own.job_ids;
      const core::DriftDecision& d = j.decision;
      std::string what = "sequence seqguard.idem_job_id";
      std::string why = " (largest job id in seqguard.idem_keys is " + std::to_string(j.max.value_or(0)) + ")";
      if (d.status == core::DriftStatus::behind) {
        if (dry_run) {
          notice(NOTICE, "would move " + what + " from next " + std::to_string(*d.next_value) +
                             " to next " + std::to_string(*d.new_next) + why);
          moved++;
        } else {
          Spi owner;
          Advance a = advance_sequence(owner, j.sequence, *d.target);
          if (a.moved) {
            notice(NOTICE, "moved " + what + " from next " + std::to_string(a.old_next) + " to next " +
                               std::to_string(a.new_next) + why);
            moved++;
          }
        }
      } else if (d.status == core::DriftStatus::exhausted) {
        Failure f{what, "exhausted", what + ": exhausted: " + d.reason};
        if (dry_run) notice(WARNING, "cannot move " + f.detail);
        failures.push_back(std::move(f));
      }
    }
    std::vector<std::string> pending;
    for (const auto& [name, columns] : own.series) {
      if (std::optional<std::string> why = columns_unreadable(columns)) {
        std::string what = "series \"" + name + "\"";
        Failure f{what, "no_privilege", what + ": no_privilege: " + *why};
        if (dry_run) notice(WARNING, "cannot move " + f.detail);
        failures.push_back(std::move(f));
        continue;
      }
      pending.push_back(name);
    }
    // Gapless counters (and a fast counter's re-created sequence) are transactional: if
    // this call is going to fail, moving them would be undone with it. Report what would
    // move instead, and move them on the next, successful, run.
    bool rehearse = dry_run || !failures.empty();
    for (const std::string& name : pending) {
      int32_t n = sync_series(name, own.series.at(name), rehearse);
      if (rehearse && !dry_run)
        series_rehearsed += n;
      else
        moved += n;
    }
  }

  if (!dry_run && !failures.empty()) {
    std::vector<std::string> objects, details;
    for (const Failure& f : failures) {
      objects.push_back(f.object + " (" + f.status + ")");
      // The detail is a list of sentences, one per object.
      std::string sentence = f.detail + ".";
      if (sentence[0] >= 'a' && sentence[0] <= 'z') sentence[0] = (char)(sentence[0] - 'a' + 'A');
      details.push_back(std::move(sentence));
    }
    std::string hint =
        "Sequences that could move were moved (" + std::to_string(moved) +
        "); a sequence move is not undone by this error, and never goes backwards. "
        "seqguard_check_drift() shows the state of every column.";
    if (series_rehearsed > 0)
      hint += " " + std::to_string(series_rehearsed) +
              (series_rehearsed == 1 ? " bound series counter was" : " bound series counters were") +
              " not moved: series counters are transactional and this error would undo them; they move on a "
              "run that succeeds.";
    fail(kSyncFailed,
         std::string(scope.function) + "() could not move " + std::to_string(failures.size()) +
             (failures.size() == 1 ? " object: " : " objects: ") + join(objects, ", "),
         join(details, "\n"), hint);
  }
  return moved;
}

}  // namespace

std::vector<DriftRow> check_drift(const std::optional<std::string>& schema_name) {
  require_schema(schema_name);
  Discovery disc;
  std::vector<DriftRow> rows;
  for (const Use& u : disc.uses) {
    if (!u.visible || u.folded) continue;
    if (schema_name && u.table_schema != *schema_name) continue;
    SequenceInfo& info = disc.sequence(u.sequence);
    core::DriftInput in;
    in.sequence = info.state;
    in.column_readable = u.column_readable;
    in.rows_hidden = u.rows_hidden;
    in.column_range = u.range;
    in.may_update = info.may_update;
    if (u.column_readable && !u.rows_hidden) in.column_extreme = disc.extreme(u, info.ascending);
    DriftRow row{u.table, u.column, u.sequence, u.identity ? "identity" : "serial", std::nullopt, in.column_extreme,
                 core::decide_drift(in)};
    if (info.state && info.state->is_called) row.last_value = info.state->last_value;
    rows.push_back(std::move(row));
  }
  if (!series_sync_allowed()) return rows;
  OwnState own = own_state(Scope{"seqguard_check_drift", schema_name, InvalidOid});
  for (const auto& [name, columns] : own.series) {
    SeriesDrift sd = series_drift(name, columns);
    const char* kind = sd.gapless ? "series" : "fast_counter";
    auto sequence_oid = [](const CounterDrift* c) {
      return c && c->sequence && !c->sequence_missing ? pg_call([&] {
        return get_relname_relid(c->sequence->c_str(), catalog().schema);
      })
                                                      : InvalidOid;
    };
    if (sd.unreadable) {
      const SeriesColumn& c = columns.front();
      core::DriftDecision d;
      d.status = core::DriftStatus::no_privilege;
      rows.push_back(DriftRow{c.table, c.column, InvalidOid, kind, std::nullopt, std::nullopt, d});
      continue;
    }
    // One row per column: the counter furthest behind, else the one with the largest
    // number. A counter no column shows (a fast counter whose sequence is missing) gets
    // a row of its own, without a column.
    std::vector<const SeriesColumn*> places;
    for (size_t i = 0; i < columns.size(); i++)
      if (std::find(sd.unread.begin(), sd.unread.end(), i) == sd.unread.end()) places.push_back(&columns[i]);
    places.push_back(nullptr);
    for (const SeriesColumn* place : places) {
      const CounterDrift* pick = nullptr;
      for (const CounterDrift& c : sd.counters) {
        if (c.column != place) continue;
        if (!pick || (c.behind && (!pick->behind || c.lag > pick->lag)) ||
            (!c.behind && !pick->behind && c.column_max > pick->column_max))
          pick = &c;
      }
      if (!place && !pick) continue;
      core::DriftDecision d;
      d.status = !pick ? core::DriftStatus::empty : pick->behind ? core::DriftStatus::behind : core::DriftStatus::ok;
      std::optional<int64_t> last, max;
      if (pick) {
        d.next_value = pick->next_value;
        d.lag = pick->sequence_missing && !pick->column_max ? std::nullopt : std::optional<int64_t>(pick->lag);
        last = pick->last_value;
        max = pick->column_max;
      }
      rows.push_back(DriftRow{place ? place->table : InvalidOid,
                              place ? std::optional<std::string>(place->column) : std::nullopt, sequence_oid(pick),
                              kind, last, max, d});
    }
  }
  if (own.job_ids) {
    JobIds& j = *own.job_ids;
    std::optional<int64_t> last;
    if (j.decision.status != core::DriftStatus::no_privilege && j.state.is_called) last = j.state.last_value;
    rows.push_back(DriftRow{j.table, std::string("job_id"), j.sequence, "idem_job_id", last, j.max, j.decision});
  }
  return rows;
}

int32_t sync_all(bool dry_run, const std::optional<std::string>& schema_name) {
  return sync(dry_run, Scope{"seqguard_sync_all", schema_name, InvalidOid});
}

int32_t sync_table(Oid table) {
  bool exists = pg_call([&] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(table)); });
  if (!exists) fail("42P01", "relation with OID " + std::to_string(table) + " does not exist");
  return sync(false, Scope{"seqguard_sync", std::nullopt, table});
}

std::vector<Duplicate> find_duplicates(Oid table, const std::string& column) {
  std::string table_name = qualified_name(table);
  AttrNumber att = pg_call([&] { return get_attnum(table, column.c_str()); });
  if (att <= 0)
    fail(core::sqlstate::undefined_column,
         "column \"" + column + "\" of relation " + table_name + " does not exist");
  // GROUP BY and ORDER BY use the column type's own equality and order (a citext column
  // groups case-insensitively, numbers sort as numbers); NULLs never collide.
  std::string col = quote_ident(column);
  std::string sql = "SELECT " + col + "::pg_catalog.text, pg_catalog.count(*) FROM " + table_name + " WHERE " +
                    col + " IS NOT NULL GROUP BY " + col +
                    " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 ORDER BY " + col;
  Spi spi(Role::caller);
  uint64_t n = spi.execute_dynamic(sql, true);
  std::vector<Duplicate> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; i++) out.push_back(Duplicate{spi.get_text(i, 1).value_or(""), *spi.get_int8(i, 2)});
  return out;
}

}  // namespace seqguard::pg
