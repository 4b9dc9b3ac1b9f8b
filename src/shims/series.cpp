// extern "C" entry points of templates, series and counters (docs/reference.md,
// "Series functions").
#include "seqguard/core/template.hpp"

#include "pg/args.hpp"
#include "pg/series.hpp"

namespace seqguard::pg {
namespace {

// seqguard_format(format text, value bigint, scope text, at date) RETURNS text
Datum format_fn(FunctionCallInfo fcinfo) {
  std::string_view format = text_arg(fcinfo, 0, "format");
  int64_t value = int8_arg(fcinfo, 1, "value");
  std::string_view scope = text_arg(fcinfo, 2, "scope");
  core::Date at = to_core_date(date_arg(fcinfo, 3, "at"));
  core::Template tpl = core::Template::parse(format);
  return text_result(tpl.render(value, scope, at));
}

// next_formatted_id(series text, scope text, at date) RETURNS text
Datum next_formatted_id_fn(FunctionCallInfo fcinfo) {
  static std::string rendered;  // reused: a bulk insert renders a million IDs
  next_value(text_arg(fcinfo, 0, "series"), text_arg(fcinfo, 1, "scope"), date_arg(fcinfo, 2, "at"), &rendered);
  return text_result(rendered);
}

// seqguard_nextval(series text, scope text, at date) RETURNS bigint
Datum nextval_fn(FunctionCallInfo fcinfo) {
  return Int64GetDatum(
      next_value(text_arg(fcinfo, 0, "series"), text_arg(fcinfo, 1, "scope"), date_arg(fcinfo, 2, "at"), nullptr));
}

// seqguard_currval(series text, scope text, at date) RETURNS bigint
Datum currval_fn(FunctionCallInfo fcinfo) {
  std::optional<int64_t> v =
      current_value(text_arg(fcinfo, 0, "series"), text_arg(fcinfo, 1, "scope"), date_arg(fcinfo, 2, "at"));
  if (!v) {
    fcinfo->isnull = true;
    return 0;
  }
  return Int64GetDatum(*v);
}

// seqguard_peek(series text, scope text, at date) RETURNS text
Datum peek_fn(FunctionCallInfo fcinfo) {
  return text_result(peek(text_arg(fcinfo, 0, "series"), text_arg(fcinfo, 1, "scope"), date_arg(fcinfo, 2, "at")));
}

// seqguard_setval(series text, value bigint, scope text, at date) RETURNS bigint
Datum setval_fn(FunctionCallInfo fcinfo) {
  return Int64GetDatum(set_value(text_arg(fcinfo, 0, "series"), int8_arg(fcinfo, 1, "value"),
                                 text_arg(fcinfo, 2, "scope"), date_arg(fcinfo, 3, "at")));
}

// seqguard_create_series(series, format, gapless, start_value, increment, on_overflow,
//                        target_table, target_column, reset, time_zone, if_not_exists)
//   RETURNS void
// A database still on 1.0 calls it with the first eight arguments.
Datum create_series_fn(FunctionCallInfo fcinfo) {
  SeriesOptions o;
  o.name = std::string(text_arg(fcinfo, 0, "series"));
  o.format = std::string(text_arg(fcinfo, 1, "format"));
  o.gapless = bool_arg(fcinfo, 2, "gapless");
  o.start_value = int8_arg(fcinfo, 3, "start_value");
  o.increment = int4_arg(fcinfo, 4, "increment");
  o.on_overflow = std::string(text_arg(fcinfo, 5, "on_overflow"));
  o.target_table = PG_ARGISNULL(6) ? InvalidOid : PG_GETARG_OID(6);
  if (!PG_ARGISNULL(7)) o.target_column = std::string(NameStr(*PG_GETARG_NAME(7)));
  if (PG_NARGS() >= 11) {
    o.reset = opt_text_arg(fcinfo, 8);
    o.time_zone = opt_text_arg(fcinfo, 9);
    o.if_not_exists = bool_arg(fcinfo, 10, "if_not_exists");
  }
  create_series(o);
  PG_RETURN_VOID();
}

// seqguard_drop_series(series text) RETURNS void
Datum drop_series_fn(FunctionCallInfo fcinfo) {
  drop_series(std::string(text_arg(fcinfo, 0, "series")));
  PG_RETURN_VOID();
}

// seqguard_alter_series(series, gapless, increment, on_overflow, format, reset, time_zone,
//                       target_table, target_column) RETURNS void
Datum alter_series_fn(FunctionCallInfo fcinfo) {
  AlterOptions o;
  o.name = std::string(text_arg(fcinfo, 0, "series"));
  if (!PG_ARGISNULL(1)) o.gapless = PG_GETARG_BOOL(1);
  if (!PG_ARGISNULL(2)) o.increment = PG_GETARG_INT32(2);
  o.on_overflow = opt_text_arg(fcinfo, 3);
  o.format = opt_text_arg(fcinfo, 4);
  o.reset = opt_text_arg(fcinfo, 5);
  o.time_zone = opt_text_arg(fcinfo, 6);
  if (!PG_ARGISNULL(7)) o.target_table = PG_GETARG_OID(7);
  if (!PG_ARGISNULL(8)) o.target_column = std::string(NameStr(*PG_GETARG_NAME(8)));
  alter_series(o);
  PG_RETURN_VOID();
}

// seqguard_revert_if_last(series text, id text) RETURNS boolean
Datum revert_if_last_fn(FunctionCallInfo fcinfo) {
  return BoolGetDatum(revert_if_last(std::string(text_arg(fcinfo, 0, "series")), text_arg(fcinfo, 1, "id")));
}

// seqguard_grant_allocate(series text, role name) RETURNS void
Datum grant_allocate_fn(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(1)) null_argument("role");
  set_allocate(std::string(text_arg(fcinfo, 0, "series")), NameStr(*PG_GETARG_NAME(1)), true);
  PG_RETURN_VOID();
}

// seqguard_revoke_allocate(series text, role name) RETURNS void
Datum revoke_allocate_fn(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(1)) null_argument("role");
  set_allocate(std::string(text_arg(fcinfo, 0, "series")), NameStr(*PG_GETARG_NAME(1)), false);
  PG_RETURN_VOID();
}

// seqguard_sync_series(series text) RETURNS integer
Datum sync_series_fn(FunctionCallInfo fcinfo) {
  return Int32GetDatum(sync_series(std::string(text_arg(fcinfo, 0, "series")), false));
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_format, seqguard::pg::format_fn)
SEQGUARD_FUNCTION(next_formatted_id, seqguard::pg::next_formatted_id_fn)
SEQGUARD_FUNCTION(seqguard_nextval, seqguard::pg::nextval_fn)
SEQGUARD_FUNCTION(seqguard_currval, seqguard::pg::currval_fn)
SEQGUARD_FUNCTION(seqguard_peek, seqguard::pg::peek_fn)
SEQGUARD_FUNCTION(seqguard_setval, seqguard::pg::setval_fn)
SEQGUARD_FUNCTION(seqguard_create_series, seqguard::pg::create_series_fn)
SEQGUARD_FUNCTION(seqguard_drop_series, seqguard::pg::drop_series_fn)
SEQGUARD_FUNCTION(seqguard_sync_series, seqguard::pg::sync_series_fn)
SEQGUARD_FUNCTION(seqguard_grant_allocate, seqguard::pg::grant_allocate_fn)
SEQGUARD_FUNCTION(seqguard_alter_series, seqguard::pg::alter_series_fn)
SEQGUARD_FUNCTION(seqguard_revert_if_last, seqguard::pg::revert_if_last_fn)
SEQGUARD_FUNCTION(seqguard_revoke_allocate, seqguard::pg::revoke_allocate_fn)

// Background worker entry: creates a new fast counter and commits at once.
extern "C" {
PGDLLEXPORT void seqguard_counter_worker(Datum arg);
void seqguard_counter_worker(Datum arg) { seqguard::pg::counter_worker_main(arg); }
}
