// extern "C" entry points of late-bound gapless numbers (docs/late.md).
#include "pg/late.hpp"

#include "pg/args.hpp"

namespace seqguard::pg {
namespace {

std::string name_arg(FunctionCallInfo fcinfo, int n, const char* what) {
  if (PG_ARGISNULL(n)) null_argument(what);
  return std::string(NameStr(*PG_GETARG_NAME(n)));
}

Oid table_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) null_argument("tbl");
  return PG_GETARG_OID(n);
}

// seqguard_attach(tbl regclass, col name, series text, scope_column name, on_change text) RETURNS void
Datum attach_fn(FunctionCallInfo fcinfo) {
  std::optional<std::string> scope;
  if (!PG_ARGISNULL(3)) scope = std::string(NameStr(*PG_GETARG_NAME(3)));
  // 1.0's declaration has four arguments: the library must serve a database that has
  // not run ALTER EXTENSION UPDATE yet.
  std::string on_change = PG_NARGS() > 4 ? std::string(text_arg(fcinfo, 4, "on_change")) : std::string();
  attach(table_arg(fcinfo, 0), name_arg(fcinfo, 1, "col"), std::string(text_arg(fcinfo, 2, "series")), scope,
         on_change);
  PG_RETURN_VOID();
}

// seqguard_detach(tbl regclass, col name) RETURNS void
Datum detach_fn(FunctionCallInfo fcinfo) {
  detach(table_arg(fcinfo, 0), name_arg(fcinfo, 1, "col"));
  PG_RETURN_VOID();
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_attach, seqguard::pg::attach_fn)
SEQGUARD_FUNCTION(seqguard_detach, seqguard::pg::detach_fn)
SEQGUARD_FUNCTION(seqguard_late_bind, seqguard::pg::late_bind_trigger)
SEQGUARD_FUNCTION(seqguard_late_guard, seqguard::pg::late_guard_trigger)
