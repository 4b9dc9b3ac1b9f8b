// extern "C" entry points of the idempotency-key registry (docs/reference.md,
// "Idempotency keys").
#include "seqguard/core/idem.hpp"

#include "pg/args.hpp"
#include "pg/idem.hpp"

extern "C" {
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace seqguard::pg {
namespace {

namespace ci = core::idem;

const Interval* interval_arg(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n)) null_argument(name);
  return PG_GETARG_INTERVAL_P(n);
}

// The one row of a RETURNS TABLE function, returned in materialize mode.
template <size_t N>
Datum return_row(FunctionCallInfo fcinfo, Datum (&values)[N], bool (&nulls)[N], bool empty = false) {
  pg_try([&] {
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
    if (rsinfo->setDesc->natts != (int)N) elog(ERROR, "return type of the function does not match its result");
    if (!empty) tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  });
  return (Datum)0;
}

// seqguard_idem_begin(key text, fingerprint text, lease interval, ttl interval,
//                     rerun_completed boolean)
//   RETURNS TABLE(status text, job_id bigint, attempt integer, result jsonb)
Datum idem_begin_fn(FunctionCallInfo fcinfo) {
  idem::BeginArgs a;
  a.key = text_arg(fcinfo, 0, "key");
  std::optional<std::string> fingerprint = opt_text_arg(fcinfo, 1);
  if (fingerprint) a.fingerprint = *fingerprint;
  a.lease = interval_arg(fcinfo, 2, "lease");
  a.ttl = interval_arg(fcinfo, 3, "ttl");
  a.rerun_completed = bool_arg(fcinfo, 4, "rerun_completed");
  idem::BeginAnswer r = idem::begin(a);
  Datum values[4] = {text_result(ci::answer_name(r.answer)), Int64GetDatum(r.job_id), Int32GetDatum(r.attempt),
                     r.result.value_or((Datum)0)};
  bool nulls[4] = {false, false, false, !r.result};
  return return_row(fcinfo, values, nulls);
}

std::optional<Datum> payload_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return pg_call([&] { return PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(n))); });
}

// seqguard_idem_complete(key text, job_id bigint, result jsonb) RETURNS void
Datum idem_complete_fn(FunctionCallInfo fcinfo) {
  idem::finish(text_arg(fcinfo, 0, "key"), int8_arg(fcinfo, 1, "job_id"), ci::Finish::complete,
               payload_arg(fcinfo, 2));
  PG_RETURN_VOID();
}

// seqguard_idem_fail(key text, job_id bigint, error text) RETURNS void
Datum idem_fail_fn(FunctionCallInfo fcinfo) {
  idem::finish(text_arg(fcinfo, 0, "key"), int8_arg(fcinfo, 1, "job_id"), ci::Finish::fail, payload_arg(fcinfo, 2));
  PG_RETURN_VOID();
}

// seqguard_idem_heartbeat(key text, job_id bigint, lease interval) RETURNS void
Datum idem_heartbeat_fn(FunctionCallInfo fcinfo) {
  idem::heartbeat(text_arg(fcinfo, 0, "key"), int8_arg(fcinfo, 1, "job_id"), interval_arg(fcinfo, 2, "lease"));
  PG_RETURN_VOID();
}

// seqguard_idem_get(key text)
//   RETURNS TABLE(status text, job_id bigint, attempt integer, result jsonb, error text,
//                 expires_at timestamptz)
Datum idem_get_fn(FunctionCallInfo fcinfo) {
  std::optional<idem::KeyState> s = idem::get(text_arg(fcinfo, 0, "key"));
  Datum values[6] = {};
  bool nulls[6] = {true, true, true, true, true, true};
  if (s) {
    values[0] = text_result(ci::status_name(s->status));
    values[1] = Int64GetDatum(s->job_id);
    values[2] = Int32GetDatum(s->attempt);
    values[3] = s->result.value_or((Datum)0);
    values[4] = s->error.value_or((Datum)0);
    values[5] = TimestampTzGetDatum(s->expires_at);
    bool set[6] = {true, true, true, s->result.has_value(), s->error.has_value(), true};
    for (int i = 0; i < 6; i++) nulls[i] = !set[i];
  }
  return return_row(fcinfo, values, nulls, !s);
}

// seqguard_idem_purge() RETURNS integer
Datum idem_purge_fn(FunctionCallInfo fcinfo) {
  (void)fcinfo;
  return Int32GetDatum(idem::purge());
}

}  // namespace
}  // namespace seqguard::pg

SEQGUARD_FUNCTION(seqguard_idem_begin, seqguard::pg::idem_begin_fn)
SEQGUARD_FUNCTION(seqguard_idem_complete, seqguard::pg::idem_complete_fn)
SEQGUARD_FUNCTION(seqguard_idem_fail, seqguard::pg::idem_fail_fn)
SEQGUARD_FUNCTION(seqguard_idem_heartbeat, seqguard::pg::idem_heartbeat_fn)
SEQGUARD_FUNCTION(seqguard_idem_get, seqguard::pg::idem_get_fn)
SEQGUARD_FUNCTION(seqguard_idem_purge, seqguard::pg::idem_purge_fn)
