// The idempotency-key registry (docs/reference.md, "Idempotency keys"): the PostgreSQL
// side.
//
// Every key belongs to the role that was current_user when it was used (GetUserId() at
// the call); the functions below never see another role's keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "seqguard/core/idem.hpp"
#include "pg/bridge.hpp"

namespace seqguard::pg::idem {

struct BeginArgs {
  std::string_view key;
  std::optional<std::string_view> fingerprint;
  const Interval* lease;
  const Interval* ttl;
  bool rerun_completed;
};

// Datums are allocated in the memory context that was current at the call.
struct BeginAnswer {
  core::idem::Answer answer;
  int64_t job_id;
  int32_t attempt;
  std::optional<Datum> result;  // jsonb, when answer == completed and one was stored
};
BeginAnswer begin(const BeginArgs& args);

// `payload` is the jsonb result (complete) or the text error (fail), if any.
void finish(std::string_view key, int64_t job_id, core::idem::Finish how, std::optional<Datum> payload);

void heartbeat(std::string_view key, int64_t job_id, const Interval* lease);

struct KeyState {
  core::idem::Status status;
  int64_t job_id;
  int32_t attempt;
  std::optional<Datum> result;  // jsonb
  std::optional<Datum> error;   // text
  TimestampTz expires_at;
};
// Nothing when the key does not exist for the current role or has expired.
std::optional<KeyState> get(std::string_view key);

// Deletes expired keys (of every role when the caller has the privileges of the
// extension owner, else the caller's own) and returns how many.
int32_t purge();

}  // namespace seqguard::pg::idem
