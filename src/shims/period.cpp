// extern "C" entry points for the update from 1.0 (sql/seqguard--1.0--1.1.sql).
#include "seqguard/core/template.hpp"

#include "pg/args.hpp"
#include "pg/period.hpp"

namespace seqguard::pg {
namespace {

// seqguard.period_key_1_1(format text, period text) RETURNS text: only while the update
// script runs, which creates and drops it.
Datum period_key_1_1_fn(FunctionCallInfo fcinfo) {
  return text_result(period_key_1_1(std::string(text_arg(fcinfo, 0, "format")),
                                    std::string(text_arg(fcinfo, 1, "period"))));
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_period_key_1_1, seqguard::pg::period_key_1_1_fn)
