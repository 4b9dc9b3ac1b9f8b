// Late-bound gapless numbers.
//
// Why a deferred constraint trigger: PostgreSQL fires deferred AFTER triggers in
// CommitTransaction (AfterTriggerFireDeferred) before it calls the XACT_EVENT_PRE_COMMIT
// callbacks, which is where series.cpp writes its counters. So the trigger can draw the
// number with the ordinary gapless machinery (lock, count in memory, write once, undo on
// abort) and the counter's lock is taken only when the transaction commits: a
// transaction that inserted a row and keeps working blocks nobody.
//
// Correctness rests on PostgreSQL's trigger queue:
//  * events fire in the order they were queued, so rows get numbers in insertion order;
//  * events queued inside a savepoint that rolls back are discarded, and events fired
//    inside one (SET CONSTRAINTS ... IMMEDIATE) are marked pending again, while
//    series.cpp gives the numbers back: a rolled-back row never consumes a number;
//  * a failure anywhere in the commit aborts the transaction, numbers included.
//
// The event carries the TID of the row as inserted. If the transaction updated the row
// afterwards, that version is dead and the live one is found by following the update
// chain (table_tuple_get_latest_tid) with a snapshot that sees the transaction's own
// work; if it deleted the row, no version is visible and nothing is drawn. Only this
// transaction can have touched the row: nobody else can see it before it commits.
#include "pg/late.hpp"

#include "pg/series.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "mb/pg_wchar.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/typcache.h"
}

namespace seqguard::pg {

namespace sqlstate_ext {
constexpr const char* undefined_table = "42P01";
constexpr const char* wrong_object_type = "42809";
constexpr const char* datatype_mismatch = "42804";
constexpr const char* trigger_protocol_violated = "39P01";
constexpr const char* object_in_use = "55006";
}  // namespace sqlstate_ext

namespace triggers {

void require_owned_table(Oid table, const char* function) {
  char relkind = pg_call([&] { return get_rel_relkind(table); });
  if (relkind == '\0')
    fail(sqlstate_ext::undefined_table, "relation with OID " + std::to_string(table) + " does not exist");
  if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
    fail(sqlstate_ext::wrong_object_type, qualified_name(table) + " is not a table",
         std::string("The function ") + function + "() acts on tables only.");
  bool owner = pg_call([&] { return compat::class_ownercheck(table, GetUserId()); });
  if (!owner)
    fail(core::sqlstate::insufficient_privilege, "must be owner of table " + qualified_name(table),
         std::string("The triggers of ") + function + "() act on the table as its owner.");
}

Oid extension_function(const char* name, bool missing_ok) {
  Oid nsp = catalog().schema;
  Oid fn = pg_call([&] {
    oidvector* noargs = buildoidvector(nullptr, 0);
    return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name), PointerGetDatum(noargs),
                           ObjectIdGetDatum(nsp));
  });
  if (fn == InvalidOid && !missing_ok)
    fail(core::sqlstate::object_not_in_prerequisite_state, std::string("function seqguard.") + name + "() is missing",
         {}, "Re-create the extension.");
  return fn;
}

std::vector<Found> calling(Oid table, Oid function) {
  Relation rel = pg_call([&] { return table_open(table, AccessShareLock); });
  std::vector<Found> out;
  // Reading the trigger descriptor raises no PostgreSQL error; if a C++ exception
  // leaves the relation open, the transaction's abort closes it.
  if (TriggerDesc* td = rel->trigdesc) {
    for (int i = 0; i < td->numtriggers; i++) {
      const Trigger& t = td->triggers[i];
      if (t.tgfoid != function) continue;
      Found f{t.tgname, {}, t.tgisclone, t.tgnewtable != nullptr};
      for (int a = 0; a < t.tgnargs; a++) f.args.emplace_back(t.tgargs[a]);
      out.push_back(std::move(f));
    }
  }
  pg_try([&] { table_close(rel, AccessShareLock); });
  return out;
}

void run_ddl(const std::string& sql) {
  Spi spi;
  spi.execute_dynamic(sql);
}

AsTableOwner::AsTableOwner(Oid owner) {
  GetUserIdAndSecContext(&saved_user_, &saved_sec_);
  SetUserIdAndSecContext(owner, saved_sec_ | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
}

AsTableOwner::~AsTableOwner() { SetUserIdAndSecContext(saved_user_, saved_sec_); }

std::string quote_ident(const std::string& s) {
  return pg_call([&] { return quote_identifier(s.c_str()); });
}

std::string quote_literal(const std::string& s) {
  return pg_call([&] { return (const char*)quote_literal_cstr(s.c_str()); });
}

namespace {

std::string clipped(const std::string& s, int max_bytes) {
  int len = pg_call([&] { return pg_mbcliplen(s.c_str(), (int)s.size(), max_bytes); });
  return s.substr(0, (size_t)len);
}

// FNV-1a: the same name on every platform (PostgreSQL's hash_bytes depends on byte order),
// so that documentation and tests can show it.
uint32_t fnv1a(const std::string& s, uint32_t salt) {
  uint32_t h = 2166136261u ^ salt;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

bool name_taken(const std::vector<Oid>& rels, const std::string& name) {
  for (Oid rel : rels)
    if (pg_call([&] { return OidIsValid(get_trigger_oid(rel, name.c_str(), true)); })) return true;
  return false;
}

}  // namespace

std::string trigger_name(Oid table, const std::string& prefix, const std::string& suffix) {
  std::vector<Oid> rels;
  List* all = pg_call([&] { return find_all_inheritors(table, NoLock, nullptr); });
  ListCell* lc;
  foreach (lc, all) rels.push_back(lfirst_oid(lc));
  std::string full = prefix + suffix;
  if (full.size() <= NAMEDATALEN - 1 && !name_taken(rels, full)) return full;
  for (uint32_t salt = 0;; salt++) {
    char tag[16];
    snprintf(tag, sizeof tag, "_%08x", fnv1a(suffix, salt));
    std::string name = clipped(full, NAMEDATALEN - 1 - (int)strlen(tag)) + tag;
    if (!name_taken(rels, name)) return name;
  }
}

}  // namespace triggers

namespace {

constexpr const char* kTriggerFunction = "late_bind";
constexpr const char* kTriggerPrefix = "seqguard_late_";
// The BEFORE UPDATE trigger that keeps an assigned number assigned.
constexpr const char* kGuardFunction = "late_guard";
constexpr const char* kGuardPrefix = "seqguard_keep_";

// How the drawn number is written into the column.
enum class Kind { number, text, unsupported };

struct Column {
  AttrNumber attnum = InvalidAttrNumber;
  Oid type = InvalidOid;
  bool not_null = false;
  bool has_default = false;
  bool identity_or_generated = false;
};

std::optional<Column> find_column(Oid table, const std::string& name) {
  Column c;
  bool found = pg_call([&] {
    HeapTuple tup = SearchSysCacheAttName(table, name.c_str());
    if (!HeapTupleIsValid(tup)) return false;
    auto* att = (Form_pg_attribute)GETSTRUCT(tup);
    c.attnum = att->attnum;
    c.type = att->atttypid;
    c.not_null = att->attnotnull;
    c.has_default = att->atthasdef;
    c.identity_or_generated = att->attidentity != '\0' || att->attgenerated != '\0';
    ReleaseSysCache(tup);
    return true;
  });
  if (!found || c.attnum <= 0) return std::nullopt;
  return c;
}

[[noreturn]] void no_column(Oid table, const std::string& name) {
  fail(core::sqlstate::undefined_column,
       "column \"" + name + "\" of relation " + qualified_name(table) + " does not exist");
}

// Integer columns get the number, string columns the rendered ID; both through an
// assignment cast, as an INSERT would.
Kind kind_of(Oid type) {
  return pg_call([&] {
    Oid base = getBaseType(type);
    Oid from = INT8OID;
    if (base == INT2OID || base == INT4OID || base == INT8OID || base == NUMERICOID)
      return can_coerce_type(1, &from, &type, COERCION_ASSIGNMENT) ? Kind::number : Kind::unsupported;
    from = TEXTOID;
    if (TypeCategory(base) == TYPCATEGORY_STRING && can_coerce_type(1, &from, &type, COERCION_ASSIGNMENT))
      return Kind::text;
    return Kind::unsupported;
  });
}

std::string type_name(Oid type) {
  return pg_call([&] { return (const char*)format_type_be(type); });
}

std::string column_label(Oid table, const std::string& column) {
  return "column \"" + column + "\" of table " + qualified_name(table);
}

// The newest version of the inserted row, as this transaction sees it now.
struct RowState {
  bool live;         // false: the transaction deleted the row (or moved it to another partition)
  bool column_null;  // the late-bound column still waits for its number
  char* scope;       // the scope column as text (palloc'd), or nullptr when NULL or none
};

RowState newest_version(Relation rel, ItemPointer tid, AttrNumber column, AttrNumber scope_column) {
  RowState st{false, false, nullptr};
  pg_try([&] {
    // The snapshot must see every earlier command of the transaction, including the
    // update an earlier trigger of this commit made to the same row.
    CommandCounterIncrement();
    Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc scan = table_beginscan_tid(rel, snap);
    table_tuple_get_latest_tid(scan, tid);
    table_endscan(scan);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    st.live = table_tuple_fetch_row_version(rel, tid, snap, slot);
    if (st.live) {
      bool isnull = true;
      slot_getattr(slot, column, &isnull);
      st.column_null = isnull;
      if (isnull && scope_column != InvalidAttrNumber) {
        Datum d = slot_getattr(slot, scope_column, &isnull);
        if (!isnull) {
          Oid out = InvalidOid;
          bool varlena = false;
          getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), scope_column - 1)->atttypid, &out, &varlena);
          st.scope = OidOutputFunctionCall(out, d);
        }
      }
    }
    ExecDropSingleTupleTableSlot(slot);
    UnregisterSnapshot(snap);
  });
  return st;
}

AttrNumber attnum_at_fire(Relation rel, const std::string& name, const char* series) {
  AttrNumber att = pg_call([&] { return get_attnum(RelationGetRelid(rel), name.c_str()); });
  if (att <= 0)
    fail(core::sqlstate::undefined_column,
         "late-bound column \"" + name + "\" of relation " + qualified_name(RelationGetRelid(rel)) +
             " does not exist",
         std::string("The trigger that numbers it from series \"") + series + "\" still exists.",
         "Detach a column with seqguard_detach() before renaming or dropping it, and attach it again.");
  return att;
}

}  // namespace

void attach(Oid table, const std::string& column, const std::string& series,
            const std::optional<std::string>& scope_column, const std::string& on_change) {
  using core::sqlstate::object_not_in_prerequisite_state;
  triggers::require_owned_table(table, "seqguard_attach");
  if (!on_change.empty() && on_change != "error" && on_change != "keep")
    fail(core::sqlstate::invalid_parameter_value, "\"on_change\" must be 'error' or 'keep', not '" + on_change + "'");
  std::optional<Column> col = find_column(table, column);
  if (!col) no_column(table, column);
  std::string label = column_label(table, column);
  if (col->identity_or_generated)
    fail(object_not_in_prerequisite_state, label + " is an identity or generated column; it cannot be late-bound");
  if (col->has_default)
    fail(object_not_in_prerequisite_state, label + " has a DEFAULT; a late-bound column must not",
         "A late-bound column is NULL until its transaction commits, and only NULLs are numbered.",
         "Run ALTER TABLE ... ALTER COLUMN " + triggers::quote_ident(column) + " DROP DEFAULT first.");
  if (col->not_null)
    fail(object_not_in_prerequisite_state, label + " is NOT NULL; a late-bound column must accept NULL",
         "A late-bound column is NULL until its transaction commits.",
         "Run ALTER TABLE ... ALTER COLUMN " + triggers::quote_ident(column) + " DROP NOT NULL first.");
  if (kind_of(col->type) == Kind::unsupported)
    fail(sqlstate_ext::datatype_mismatch,
         label + " has type " + type_name(col->type) +
             "; a late-bound column must be a string type (the formatted ID) or smallint, integer, bigint or "
             "numeric (the number)");
  if (scope_column) {
    if (!find_column(table, *scope_column)) no_column(table, *scope_column);
    if (*scope_column == column)
      fail(core::sqlstate::invalid_parameter_value, "the scope column cannot be the late-bound column itself");
  }
  {
    Spi spi;
    if (spi.execute("SELECT 1 FROM seqguard.series WHERE name OPERATOR(pg_catalog.=) $1", {Param::text(series)},
                    Snap::transaction, true) == 0)
      fail(core::sqlstate::undefined_object, "series \"" + series + "\" does not exist", {},
           "Create it with seqguard_create_series().");
  }
  Oid fn = triggers::extension_function(kTriggerFunction);
  for (const triggers::Found& t : triggers::calling(table, fn))
    if (t.args.size() >= 2 && t.args[1] == column)
      fail(core::sqlstate::duplicate_object, label + " is already late-bound to series \"" + t.args[0] + "\"",
           t.clone ? "It is late-bound through the partitioned table it belongs to." : "",
           "Detach it first with seqguard_detach().");
  // Found again by function and arguments (triggers::calling), never by name: triggers
  // made by 1.0, whose names were clipped without a hash, are detached the same way.
  triggers::run_ddl("CREATE CONSTRAINT TRIGGER " +
                    triggers::quote_ident(triggers::trigger_name(table, kTriggerPrefix, column)) +
                    " AFTER INSERT ON " + qualified_name(table) +
                    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION seqguard.late_bind(" +
                    triggers::quote_literal(series) + ", " + triggers::quote_literal(column) + ", " +
                    triggers::quote_literal(scope_column.value_or("")) + ")");
  // A database still at 1.0 (seqguard_attach without on_change) has no guard function
  // yet: ALTER EXTENSION seqguard UPDATE installs the guard on every attachment.
  if (on_change.empty()) return;
  // UPDATE OF: an update that does not name the column costs nothing.
  triggers::run_ddl("CREATE TRIGGER " + triggers::quote_ident(triggers::trigger_name(table, kGuardPrefix, column)) +
                    " BEFORE UPDATE OF " + triggers::quote_ident(column) + " ON " + qualified_name(table) +
                    " FOR EACH ROW EXECUTE FUNCTION seqguard.late_guard(" + triggers::quote_literal(column) + ", " +
                    triggers::quote_literal(on_change) + ")");
}

void detach(Oid table, const std::string& column) {
  triggers::require_owned_table(table, "seqguard_detach");
  Oid fn = triggers::extension_function(kTriggerFunction);
  std::string label = column_label(table, column);
  for (const triggers::Found& t : triggers::calling(table, fn)) {
    if (t.args.size() < 2 || t.args[1] != column) continue;
    if (t.clone)
      fail(core::sqlstate::object_not_in_prerequisite_state,
           label + " is late-bound through the partitioned table it belongs to", {}, "Detach it there.");
    // PostgreSQL silently forgets the pending events of a dropped trigger: rows this
    // transaction inserted would stay NULL for good.
    List* rels = pg_call([&] { return find_all_inheritors(table, NoLock, nullptr); });
    ListCell* lc;
    foreach (lc, rels) {
      Oid rel = lfirst_oid(lc);
      if (pg_call([&] { return AfterTriggerPendingOnRel(rel); }))
        fail(sqlstate_ext::object_in_use,
             "cannot detach " + label + " while rows this transaction inserted wait for their numbers",
             {}, "Commit first, or number them now with SET CONSTRAINTS ALL IMMEDIATE.");
    }
    triggers::run_ddl("DROP TRIGGER " + triggers::quote_ident(t.name) + " ON " + qualified_name(table));
    Oid guard = triggers::extension_function(kGuardFunction, true);
    if (guard != InvalidOid)
      for (const triggers::Found& g : triggers::calling(table, guard))
      if (!g.clone && !g.args.empty() && g.args[0] == column)
        triggers::run_ddl("DROP TRIGGER " + triggers::quote_ident(g.name) + " ON " + qualified_name(table));
    return;
  }
  fail(core::sqlstate::undefined_object, label + " is not late-bound");
}

Datum late_bind_trigger(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    fail(sqlstate_ext::trigger_protocol_violated, "seqguard.late_bind() must be called as a trigger");
  auto* td = (TriggerData*)fcinfo->context;
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_trigger->tgnargs != 3)
    fail(sqlstate_ext::trigger_protocol_violated,
         "seqguard.late_bind() must fire AFTER INSERT FOR EACH ROW with 3 arguments; use seqguard_attach()");
  const char* series = td->tg_trigger->tgargs[0];
  std::string column = td->tg_trigger->tgargs[1];
  std::string scope_name = td->tg_trigger->tgargs[2];
  Relation rel = td->tg_relation;
  Oid relid = RelationGetRelid(rel);

  AttrNumber att = attnum_at_fire(rel, column, series);
  AttrNumber scope_att = scope_name.empty() ? InvalidAttrNumber : attnum_at_fire(rel, scope_name, series);
  ItemPointerData tid = td->tg_trigslot->tts_tid;
  RowState row = newest_version(rel, &tid, att, scope_att);
  // A deleted row, or one whose transaction wrote the column itself, consumes nothing.
  if (!row.live || !row.column_null) return PointerGetDatum(nullptr);

  std::string scope = row.scope ? row.scope : "";
  // As a column default that does not pass `at`: today, in the series' time zone if any.
  int32_t at = DATEVAL_NOEND;
  std::string rendered;
  int64_t value = next_value(series, scope, at, &rendered);

  Oid type = TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid;
  bool number = kind_of(type) == Kind::number;
  // The cast is part of the text so that each cached plan keeps one parameter type.
  std::string sql = "UPDATE ONLY " + qualified_name(relid) + " SET " + triggers::quote_ident(column) +
                    (number ? " = $1::pg_catalog.int8" : " = $1::pg_catalog.text") +
                    " WHERE ctid OPERATOR(pg_catalog.=) $2";
  uint64_t updated = 0;
  {
    // As the table's owner: the inserting role may hold INSERT and nothing else.
    triggers::AsTableOwner as_owner(rel->rd_rel->relowner);
    Spi spi(Role::caller);
    updated = spi.execute(sql.c_str(),
                          {number ? Param::int8(value) : Param::text(rendered),
                           Param{TIDOID, PointerGetDatum(&tid), false}});
  }
  if (updated != 1)
    fail(core::sqlstate::object_not_in_prerequisite_state,
         "could not write the late-bound ID " + rendered + " into " + column_label(relid, column),
         "The UPDATE of the row, run as the table's owner, changed no row (a BEFORE UPDATE trigger returned "
         "NULL?). The transaction is rolled back; no number was consumed.");
  return PointerGetDatum(nullptr);
}

}  // namespace seqguard::pg

namespace seqguard::pg {

Datum late_guard_trigger(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    fail(sqlstate_ext::trigger_protocol_violated, "seqguard.late_guard() must be called as a trigger");
  auto* td = (TriggerData*)fcinfo->context;
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !TRIGGER_FIRED_BY_UPDATE(td->tg_event) || td->tg_trigger->tgnargs != 2)
    fail(sqlstate_ext::trigger_protocol_violated,
         "seqguard.late_guard() must fire BEFORE UPDATE FOR EACH ROW with 2 arguments; use seqguard_attach()");
  std::string column = td->tg_trigger->tgargs[0];
  bool keep = std::string(td->tg_trigger->tgargs[1]) == "keep";
  Relation rel = td->tg_relation;
  HeapTuple old_tuple = td->tg_trigtuple;
  HeapTuple new_tuple = td->tg_newtuple;
  AttrNumber att = pg_call([&] { return get_attnum(RelationGetRelid(rel), column.c_str()); });
  if (att <= 0) return PointerGetDatum(new_tuple);  // dropped or renamed: seqguard_detach tells
  TupleDesc desc = RelationGetDescr(rel);
  bool old_null = true, new_null = true;
  Datum old_value = 0, new_value = 0;
  pg_try([&] {
    old_value = heap_getattr(old_tuple, att, desc, &old_null);
    new_value = heap_getattr(new_tuple, att, desc, &new_null);
  });
  // Not numbered yet (the inserting transaction, or the late-bound trigger writing it).
  if (old_null) return PointerGetDatum(new_tuple);
  Form_pg_attribute a = TupleDescAttr(desc, att - 1);
  Oid type = a->atttypid;
  Oid collation = a->attcollation;
  bool same = !new_null && pg_call([&] {
    TypeCacheEntry* tc = lookup_type_cache(type, TYPECACHE_EQ_OPR_FINFO);
    if (!OidIsValid(tc->eq_opr_finfo.fn_oid)) return datum_image_eq(old_value, new_value, a->attbyval, a->attlen);
    return DatumGetBool(FunctionCall2Coll(&tc->eq_opr_finfo, collation, old_value, new_value));
  });
  if (same) return PointerGetDatum(new_tuple);
  if (keep) {
    HeapTuple kept = pg_call([&] {
      int cols[1] = {att};
      Datum values[1] = {old_value};
      bool nulls[1] = {false};
      return heap_modify_tuple_by_cols(new_tuple, desc, 1, cols, values, nulls);
    });
    return PointerGetDatum(kept);
  }
  std::string number = pg_call([&] {
    Oid out = InvalidOid;
    bool varlena = false;
    getTypeOutputInfo(type, &out, &varlena);
    return (const char*)OidOutputFunctionCall(out, old_value);
  });
  fail("23001",  // restrict_violation: the number is referenced by the world outside
       "cannot change the late-bound number " + number + " of a row of table " + qualified_name(RelationGetRelid(rel)),
       "Column \"" + column + "\" got that number when its row was committed; setting it to " +
           (new_null ? std::string("NULL") : std::string("another value")) + " would lose it for good.",
       "Leave the column out of the UPDATE, or write the same value back; seqguard_attach(..., on_change => 'keep') "
       "keeps assigned numbers without an error.");
}

}  // namespace seqguard::pg
