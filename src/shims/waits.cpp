// extern "C" entry points of seqguard_waits: the lock keys of series and counters, and
// the period a series' counter is in on a date, so that the view can name what a
// session in pg_locks waits for. Internal (schema seqguard); the view is their caller.
#include "pg/args.hpp"
#include "pg/series.hpp"

namespace seqguard::pg {
namespace {

// seqguard.series_lock_key(series text) RETURNS bigint (STRICT)
Datum series_lock_key_fn(FunctionCallInfo fcinfo) {
  return Int64GetDatum(series_lock_key(text_arg(fcinfo, 0, "series")));
}

// seqguard.counter_lock_key(series text, scope text, period text) RETURNS bigint (STRICT)
Datum counter_lock_key_fn(FunctionCallInfo fcinfo) {
  return Int64GetDatum(counter_lock_key(text_arg(fcinfo, 0, "series"), text_arg(fcinfo, 1, "scope"),
                                        text_arg(fcinfo, 2, "period")));
}

// seqguard.period_key(format text, reset text, at date) RETURNS text: NULL reset is the
// template's own period, as in seqguard.series.
Datum period_key_fn(FunctionCallInfo fcinfo) {
  if (arg_is_null(fcinfo, 0) || arg_is_null(fcinfo, 2)) {
    fcinfo->isnull = true;
    return (Datum)0;
  }
  return text_result(period_key_at(text_arg(fcinfo, 0, "format"), opt_text_arg(fcinfo, 1), date_arg(fcinfo, 2, "at")));
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_series_lock_key, seqguard::pg::series_lock_key_fn)
SEQGUARD_FUNCTION(seqguard_counter_lock_key, seqguard::pg::counter_lock_key_fn)
SEQGUARD_FUNCTION(seqguard_period_key, seqguard::pg::period_key_fn)
