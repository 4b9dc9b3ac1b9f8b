// extern "C" entry points of periods: reading an ID back, and the update from 1.0
// (sql/seqguard--1.0--1.1.sql).
#include "seqguard/core/template.hpp"

#include "pg/args.hpp"
#include "pg/period.hpp"
#include "pg/series.hpp"

namespace seqguard::pg {
namespace {

// seqguard.period_key_1_1(format text, period text) RETURNS text: only while the update
// script runs, which creates and drops it.
Datum period_key_1_1_fn(FunctionCallInfo fcinfo) {
  return text_result(period_key_1_1(std::string(text_arg(fcinfo, 0, "format")),
                                    std::string(text_arg(fcinfo, 1, "period"))));
}

// seqguard_parse_id(series text, id text) RETURNS TABLE(scope text, period text, value bigint)
Datum parse_id_fn(FunctionCallInfo fcinfo) {
  std::optional<core::ParsedId> p =
      parse_series_id(std::string(text_arg(fcinfo, 0, "series")), text_arg(fcinfo, 1, "id"));
  pg_try([&] { InitMaterializedSRF(fcinfo, 0); });
  if (p) {
    Datum values[3] = {text_result(p->scope), text_result(p->period_key), Int64GetDatum(p->value)};
    bool nulls[3] = {};
    pg_try([&] {
      auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    });
  }
  return (Datum)0;
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_period_key_1_1, seqguard::pg::period_key_1_1_fn)
SEQGUARD_FUNCTION(seqguard_parse_id, seqguard::pg::parse_id_fn)
