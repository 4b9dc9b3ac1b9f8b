// The idempotency-key state machine (docs/reference.md, "Idempotency keys"), free of
// PostgreSQL.
//
// A key is the base ("import file F with mapping M for user U"), a job is one run of it.
// The PostgreSQL layer reads a key's stored state under the key's lock, asks one of the
// decide_* functions below what to do at `now`, and writes what they say. Everything
// that makes an answer right or wrong lives here, so that it can be tested without a
// server: when a lease or a key has run out, when a new attempt starts, which job may
// still complete, and every error with its SQLSTATE.
//
// Time is int64 microseconds since any fixed epoch (PostgreSQL's timestamptz counts
// from 2000-01-01). Deadlines (`now + lease`, `now + ttl`) are computed by the caller,
// the way SQL adds an interval to a timestamptz (calendar months and days), and passed
// in as times.
#pragma once
#include "seqguard/core/cpp_only.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "seqguard/core/error.hpp"

namespace seqguard::core::idem {

using Micros = int64_t;

inline constexpr Micros kMicrosPerDay = 86'400'000'000LL;
// Leases and TTLs are at most 1000 years, counted as PostgreSQL compares intervals (a
// month is 30 days, so '1000 years' is the longest and '365000 days' too long): long
// enough for "forever", short enough that a deadline never leaves timestamptz's range.
inline constexpr Micros kMaxDuration = 1000 * 12 * 30 * kMicrosPerDay;
inline constexpr int64_t kMaxKeyChars = 255;

enum class Status { in_progress, completed, failed };
const char* status_name(Status s) noexcept;  // "in_progress", "completed", "failed"
std::optional<Status> parse_status(std::string_view s) noexcept;

// --- argument checks (before any lock is taken) ----------------------------------------

// A key is 1 to 255 characters. `chars` is its length in characters (the server
// counts them in the database encoding); `preview` is how to show it in the message.
void check_key(int64_t chars, std::string_view preview);
// A lease or TTL must end after now and be at most kMaxDuration long. `from_now` is
// `(now + interval) - now` in calendar arithmetic, `length` the interval with 30-day
// months; `what` names the argument ("lease", "ttl"), `shown` is its value as text.
void check_duration(std::string_view what, Micros from_now, Micros length, std::string_view shown);

// --- stored state ------------------------------------------------------------------------

struct Stored {
  Status status = Status::in_progress;
  int64_t job_id = 0;
  int32_t attempt = 1;
  std::optional<std::string> fingerprint;
  std::optional<Micros> lease_until;  // set while in_progress
  Micros expires_at = 0;
};

// The attempt is in progress and its worker's lease has not run out.
bool lease_live(const Stored& s, Micros now) noexcept;
// An expired key is treated as if it did not exist: begin starts it afresh as
// attempt 1, complete/fail/heartbeat/get do not find it, purge deletes it. A key whose
// attempt is in progress with a live lease never expires.
bool expired(const Stored& s, Micros now) noexcept;
// The key exists for its role at `now`: stored and not expired.
bool visible(const std::optional<Stored>& s, Micros now) noexcept;

// --- begin ---------------------------------------------------------------------------------

struct BeginRequest {
  std::optional<std::string_view> fingerprint;  // NULL: never compared
  Micros lease_until = 0;                       // now + lease
  Micros ttl_until = 0;                         // now + ttl
  bool rerun_completed = false;
};

enum class Answer { started, in_progress, completed };
const char* answer_name(Answer a) noexcept;  // "started", "in_progress", "completed"

// What the PostgreSQL layer stores for a new attempt (with a job id it draws itself).
struct NewAttempt {
  int32_t attempt;
  bool fresh;  // the key is new (or expired and reused): its created_at restarts at now
  std::optional<std::string> fingerprint;
  Micros lease_until;
  Micros expires_at;  // now + ttl, but never before lease_until
};

struct BeginDecision {
  Answer answer;
  int32_t attempt;                // the attempt the answer is about
  int64_t job_id;                 // in_progress/completed: the stored job; started: 0
  std::optional<NewAttempt> start;  // exactly when answer == started
};

// Throws Error 22023 when the key is live with a different non-NULL fingerprint, and
// 22003 when the attempt counter cannot grow. `key` is only used in messages.
BeginDecision decide_begin(std::string_view key, const std::optional<Stored>& stored, Micros now,
                           const BeginRequest& req);

// --- complete, fail, heartbeat -------------------------------------------------------

// A worker may finish or extend its job while the key exists and the job is the key's
// current attempt and still in progress, even after its lease ran out as long as nobody
// took the key over. Otherwise: Error 55000.
enum class Finish { complete, fail };
struct FinishDecision {
  Status status;      // completed or failed
  Micros expires_at;  // the outcome is kept until then
};
// `keep_until` is now + the ttl the key was begun with.
FinishDecision decide_finish(std::string_view key, const std::optional<Stored>& stored, Micros now,
                             int64_t job_id, Finish how, Micros keep_until);

struct HeartbeatDecision {
  Micros lease_until;
  Micros expires_at;  // never before lease_until
};
// `lease_until` is now + the new lease.
HeartbeatDecision decide_heartbeat(std::string_view key, const std::optional<Stored>& stored, Micros now,
                                   int64_t job_id, Micros lease_until);

}  // namespace seqguard::core::idem
