// extern "C" entry points of sequence protection (docs/late.md).
#include "pg/protect.hpp"

#include "pg/args.hpp"

namespace seqguard::pg {
namespace {

Oid table_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) null_argument("tbl");
  return PG_GETARG_OID(n);
}

// seqguard_protect(tbl regclass) RETURNS void
Datum protect_fn(FunctionCallInfo fcinfo) {
  protect(table_arg(fcinfo, 0));
  PG_RETURN_VOID();
}

// seqguard_unprotect(tbl regclass) RETURNS void
Datum unprotect_fn(FunctionCallInfo fcinfo) {
  unprotect(table_arg(fcinfo, 0));
  PG_RETURN_VOID();
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_protect, seqguard::pg::protect_fn)
SEQGUARD_FUNCTION(seqguard_unprotect, seqguard::pg::unprotect_fn)
SEQGUARD_FUNCTION(seqguard_protect_sequences, seqguard::pg::protect_trigger)
