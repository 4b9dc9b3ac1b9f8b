#include "seqguard/core/idem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace seqguard::core::idem {

namespace {

std::string quoted(std::string_view key) { return fmt::format("\"{}\"", key); }

[[noreturn]] void not_live(std::string_view key, int64_t job_id, const std::optional<Stored>& stored, Micros now) {
  using sqlstate::object_not_in_prerequisite_state;
  if (!visible(stored, now))
    throw Error(object_not_in_prerequisite_state,
                fmt::format("idempotency key {} does not exist or has expired, so job {} cannot change it",
                            quoted(key), job_id),
                {}, "A job ends with the key; begin the key again to start a new job.");
  const Stored& s = *stored;
  if (s.job_id != job_id)
    throw Error(object_not_in_prerequisite_state,
                fmt::format("job {} is no longer the live job of idempotency key {}", job_id, quoted(key)),
                fmt::format("The key is at attempt {} (job {}, {}).", s.attempt, s.job_id, status_name(s.status)),
                "Another caller took the key over after this job failed or its lease ran out.");
  throw Error(object_not_in_prerequisite_state,
              fmt::format("job {} of idempotency key {} is already {}", job_id, quoted(key), status_name(s.status)));
}

// The stored job, if the worker of `job_id` may still change it.
const Stored& live_job(std::string_view key, const std::optional<Stored>& stored, Micros now, int64_t job_id) {
  if (!visible(stored, now) || stored->job_id != job_id || stored->status != Status::in_progress)
    not_live(key, job_id, stored, now);
  return *stored;
}

}  // namespace

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::in_progress:
      return "in_progress";
    case Status::completed:
      return "completed";
    case Status::failed:
      return "failed";
  }
  return "?";
}

std::optional<Status> parse_status(std::string_view s) noexcept {
  if (s == "in_progress") return Status::in_progress;
  if (s == "completed") return Status::completed;
  if (s == "failed") return Status::failed;
  return std::nullopt;
}

const char* answer_name(Answer a) noexcept {
  switch (a) {
    case Answer::started:
      return "started";
    case Answer::in_progress:
      return "in_progress";
    case Answer::completed:
      return "completed";
  }
  return "?";
}

void check_key(int64_t chars, std::string_view preview) {
  if (chars >= 1 && chars <= kMaxKeyChars) return;
  if (chars == 0)
    throw Error(sqlstate::invalid_parameter_value, "idempotency key must not be empty",
                "Keys are 1 to 255 characters long.");
  throw Error(sqlstate::invalid_parameter_value,
              fmt::format("idempotency key \"{}...\" is {} characters long", preview, chars),
              "Keys are 1 to 255 characters long.", "Hash long inputs into the key, e.g. with md5() or sha256().");
}

void check_duration(std::string_view what, Micros from_now, Micros length, std::string_view shown) {
  if (from_now <= 0)
    throw Error(sqlstate::invalid_parameter_value, fmt::format("\"{}\" must be positive, not '{}'", what, shown));
  if (length > kMaxDuration)
    throw Error(sqlstate::invalid_parameter_value,
                fmt::format("\"{}\" must be at most 1000 years, not '{}'", what, shown));
}

bool lease_live(const Stored& s, Micros now) noexcept {
  return s.status == Status::in_progress && s.lease_until && *s.lease_until > now;
}

bool expired(const Stored& s, Micros now) noexcept { return now >= s.expires_at && !lease_live(s, now); }

bool visible(const std::optional<Stored>& s, Micros now) noexcept { return s && !expired(*s, now); }

BeginDecision decide_begin(std::string_view key, const std::optional<Stored>& stored, Micros now,
                           const BeginRequest& req) {
  auto start = [&](int32_t attempt, bool fresh) {
    NewAttempt a;
    a.attempt = attempt;
    a.fresh = fresh;
    // An attempt runs under the fingerprint of the begin that started it; a retry that
    // gives none keeps the key's (an expired key forgets it).
    if (req.fingerprint)
      a.fingerprint = std::string(*req.fingerprint);
    else if (!fresh)
      a.fingerprint = stored->fingerprint;
    a.lease_until = req.lease_until;
    a.expires_at = std::max(req.ttl_until, req.lease_until);
    return BeginDecision{Answer::started, attempt, 0, std::move(a)};
  };

  if (!visible(stored, now)) return start(1, true);
  const Stored& s = *stored;

  if (req.fingerprint && s.fingerprint && *req.fingerprint != *s.fingerprint)
    throw Error(sqlstate::invalid_parameter_value,
                fmt::format("idempotency key {} is already used with a different fingerprint", quoted(key)),
                fmt::format("The stored job {} (attempt {}, {}) is unchanged.", s.job_id, s.attempt,
                            status_name(s.status)),
                "A key must identify one request: derive it from everything the fingerprint covers.");

  auto next_attempt = [&] {
    if (s.attempt == std::numeric_limits<int32_t>::max())
      throw Error(sqlstate::numeric_value_out_of_range,
                  fmt::format("idempotency key {} has run out of attempts ({})", quoted(key), s.attempt));
    return start(s.attempt + 1, false);
  };

  switch (s.status) {
    case Status::in_progress:
      if (lease_live(s, now)) return BeginDecision{Answer::in_progress, s.attempt, s.job_id, std::nullopt};
      return next_attempt();  // the worker died: its lease ran out
    case Status::completed:
      if (req.rerun_completed) return next_attempt();
      return BeginDecision{Answer::completed, s.attempt, s.job_id, std::nullopt};
    case Status::failed:
      return next_attempt();
  }
  throw Error(sqlstate::internal_error, "unknown idempotency key status");
}

FinishDecision decide_finish(std::string_view key, const std::optional<Stored>& stored, Micros now, int64_t job_id,
                             Finish how, Micros keep_until) {
  live_job(key, stored, now, job_id);
  return FinishDecision{how == Finish::complete ? Status::completed : Status::failed, keep_until};
}

HeartbeatDecision decide_heartbeat(std::string_view key, const std::optional<Stored>& stored, Micros now,
                                   int64_t job_id, Micros lease_until) {
  const Stored& s = live_job(key, stored, now, job_id);
  return HeartbeatDecision{lease_until, std::max(s.expires_at, lease_until)};
}

}  // namespace seqguard::core::idem
