// The extern "C" side of seqguard, part 3: sequence drift (SPEC section 2) and the
// duplicate finder (section 4). Bodies are in src/pg/drift.cpp.
#include "pg/drift.hpp"

#include <optional>
#include <string>
#include <vector>

#include "pg/args.hpp"

namespace seqguard::pg {
namespace {

// Rows of a set-returning function, materialized into the tuplestore PostgreSQL gave
// us. Called once the C++ work is done, so nothing with a destructor is in flight.
void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
  pg_try([&] {
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  });
}

Datum int8_or_null(const std::optional<int64_t>& v, bool* isnull) {
  *isnull = !v.has_value();
  return v ? Int64GetDatum(*v) : 0;
}

Datum name_datum(const std::string& s) {
  return pg_call([&] { return DirectFunctionCall1(namein, CStringGetDatum(s.c_str())); });
}

// seqguard_check_drift(schema_name text) RETURNS TABLE(table_name regclass, column_name name,
//   sequence_name regclass, kind text, last_value bigint, next_value bigint,
//   column_max bigint, status text, lag bigint)
Datum check_drift_fn(FunctionCallInfo fcinfo) {
  std::optional<std::string> schema = opt_text_arg(fcinfo, 0);
  std::vector<DriftRow> rows = check_drift(schema);
  pg_try([&] { InitMaterializedSRF(fcinfo, 0); });
  for (const DriftRow& r : rows) {
    Datum values[9];
    bool nulls[9] = {};
    values[0] = ObjectIdGetDatum(r.table);
    nulls[0] = r.table == InvalidOid;
    values[1] = r.column ? name_datum(*r.column) : (Datum)0;
    nulls[1] = !r.column;
    values[2] = ObjectIdGetDatum(r.sequence);
    nulls[2] = r.sequence == InvalidOid;
    values[3] = text_result(r.kind);
    values[4] = int8_or_null(r.last_value, &nulls[4]);
    values[5] = int8_or_null(r.decision.next_value, &nulls[5]);
    values[6] = int8_or_null(r.column_extreme, &nulls[6]);
    values[7] = text_result(core::drift_status_name(r.decision.status));
    values[8] = int8_or_null(r.decision.lag, &nulls[8]);
    put_row(fcinfo, values, nulls);
  }
  return (Datum)0;
}

// seqguard_sync_all(dry_run boolean, schema_name text) RETURNS integer
Datum sync_all_fn(FunctionCallInfo fcinfo) {
  bool dry_run = bool_arg(fcinfo, 0, "dry_run");
  return Int32GetDatum(sync_all(dry_run, opt_text_arg(fcinfo, 1)));
}

// seqguard_sync(tbl regclass) RETURNS integer
Datum sync_fn(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) null_argument("tbl");
  return Int32GetDatum(sync_table(PG_GETARG_OID(0)));
}

// seqguard_find_duplicates(tbl regclass, col name) RETURNS TABLE(value text, copies bigint)
Datum find_duplicates_fn(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) null_argument("tbl");
  if (PG_ARGISNULL(1)) null_argument("col");
  Oid table = PG_GETARG_OID(0);
  std::string column = NameStr(*PG_GETARG_NAME(1));
  std::vector<Duplicate> dups = find_duplicates(table, column);
  pg_try([&] { InitMaterializedSRF(fcinfo, 0); });
  for (const Duplicate& d : dups) {
    Datum values[2] = {text_result(d.value), Int64GetDatum(d.copies)};
    bool nulls[2] = {};
    put_row(fcinfo, values, nulls);
  }
  return (Datum)0;
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_check_drift, seqguard::pg::check_drift_fn)
SEQGUARD_FUNCTION(seqguard_sync_all, seqguard::pg::sync_all_fn)
SEQGUARD_FUNCTION(seqguard_sync, seqguard::pg::sync_fn)
SEQGUARD_FUNCTION(seqguard_find_duplicates, seqguard::pg::find_duplicates_fn)
