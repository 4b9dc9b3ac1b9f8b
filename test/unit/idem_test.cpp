// Unit tests of the idempotency-key state machine (docs/reference.md, "Idempotency keys").
#include "seqguard/core/idem.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>

namespace {

using namespace seqguard::core::idem;
using seqguard::core::Error;

constexpr Micros kSecond = 1'000'000;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kNow = 800'000'000 * kSecond;  // some time in 2025, as PostgreSQL counts

// A begin at `now` (deadlines are computed by the caller: here plain additions).
BeginRequest request(Micros now, std::optional<std::string_view> fingerprint = std::nullopt,
                     Micros lease = 5 * kMinute, Micros ttl = 24 * kHour, bool rerun = false) {
  BeginRequest r;
  r.fingerprint = fingerprint;
  r.lease_until = now + lease;
  r.ttl_until = now + ttl;
  r.rerun_completed = rerun;
  return r;
}

Stored stored(Status status, int64_t job, int32_t attempt, Micros lease_until, Micros expires_at,
              std::optional<std::string> fingerprint = std::nullopt) {
  Stored s;
  s.status = status;
  s.job_id = job;
  s.attempt = attempt;
  s.fingerprint = std::move(fingerprint);
  if (status == Status::in_progress) s.lease_until = lease_until;
  s.expires_at = expires_at;
  return s;
}

// What the PostgreSQL layer does with a decision: the row after a begin that started.
Stored apply(const BeginDecision& d, int64_t new_job) {
  Stored s;
  s.status = Status::in_progress;
  s.job_id = new_job;
  s.attempt = d.start->attempt;
  s.fingerprint = d.start->fingerprint;
  s.lease_until = d.start->lease_until;
  s.expires_at = d.start->expires_at;
  return s;
}

// Runs `f`, expects a core::Error with `state`, and returns its message.
template <typename F>
std::string error_of(F&& f, const char* state) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_STREQ(e.sqlstate(), state) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected SQLSTATE " << state;
  return "";
}

// --- names ----------------------------------------------------------------------------------

TEST(IdemNames, StatusRoundTrips) {
  for (Status s : {Status::in_progress, Status::completed, Status::failed})
    EXPECT_EQ(parse_status(status_name(s)), s);
  EXPECT_FALSE(parse_status("started"));
  EXPECT_FALSE(parse_status(""));
  EXPECT_FALSE(parse_status("COMPLETED"));
  EXPECT_STREQ(answer_name(Answer::started), "started");
  EXPECT_STREQ(answer_name(Answer::in_progress), "in_progress");
  EXPECT_STREQ(answer_name(Answer::completed), "completed");
}

// --- argument checks ----------------------------------------------------------------------

TEST(IdemCheck, KeyLengthIsOneTo255Characters) {
  EXPECT_NO_THROW(check_key(1, "a"));
  EXPECT_NO_THROW(check_key(255, "a"));
  std::string m = error_of([] { check_key(0, ""); }, "22023");
  EXPECT_NE(m.find("empty"), std::string::npos) << m;
  m = error_of([] { check_key(256, "abcdef"); }, "22023");
  EXPECT_NE(m.find("\"abcdef...\""), std::string::npos) << m;
  EXPECT_NE(m.find("256 characters"), std::string::npos) << m;
  error_of([] { check_key(-1, ""); }, "22023");
  error_of([] { check_key(1'000'000, "x"); }, "22023");
}

TEST(IdemCheck, DurationsArePositiveAndBounded) {
  EXPECT_NO_THROW(check_duration("lease", 1, 1, "00:00:00.000001"));
  EXPECT_NO_THROW(check_duration("ttl", kMaxDuration + kHour, kMaxDuration, "1000 years"));
  std::string m = error_of([] { check_duration("lease", 0, 0, "00:00:00"); }, "22023");
  EXPECT_EQ(m, "\"lease\" must be positive, not '00:00:00'");
  m = error_of([] { check_duration("ttl", -kMinute, -kMinute, "-00:01:00"); }, "22023");
  EXPECT_EQ(m, "\"ttl\" must be positive, not '-00:01:00'");
  // '1 month -30 days' is nothing when compared, but a day in a 31-day month.
  EXPECT_NO_THROW(check_duration("ttl", 24 * kHour, 0, "1 mon -30 days"));
  error_of([] { check_duration("ttl", -24 * kHour, 0, "1 mon -30 days"); }, "22023");
  m = error_of([] { check_duration("ttl", kMaxDuration, kMaxDuration + 1, "huge"); }, "22023");
  EXPECT_EQ(m, "\"ttl\" must be at most 1000 years, not 'huge'");
}

// --- expiry -----------------------------------------------------------------------------------

TEST(IdemExpiry, LeaseAndTtlBoundariesAreExclusive) {
  Stored s = stored(Status::in_progress, 7, 1, kNow + kMinute, kNow + kHour);
  EXPECT_TRUE(lease_live(s, kNow));
  EXPECT_TRUE(lease_live(s, kNow + kMinute - 1));
  EXPECT_FALSE(lease_live(s, kNow + kMinute));
  EXPECT_FALSE(expired(s, kNow + kHour - 1));
  EXPECT_TRUE(expired(s, kNow + kHour));
  Stored c = stored(Status::completed, 7, 1, 0, kNow + kHour);
  EXPECT_FALSE(lease_live(c, kNow));
  EXPECT_FALSE(expired(c, kNow + kHour - 1));
  EXPECT_TRUE(expired(c, kNow + kHour));
}

TEST(IdemExpiry, InProgressWithLiveLeaseNeverExpires) {
  // Even if the stored expiry is earlier (it never is when seqguard wrote the row).
  Stored s = stored(Status::in_progress, 7, 1, kNow + kHour, kNow);
  EXPECT_FALSE(expired(s, kNow + kMinute));
  EXPECT_TRUE(expired(s, kNow + kHour));
  EXPECT_TRUE(visible(s, kNow + kMinute));
  EXPECT_FALSE(visible(std::nullopt, kNow));
}

// --- begin ------------------------------------------------------------------------------------

TEST(IdemBegin, NewKeyStartsAttemptOne) {
  BeginDecision d = decide_begin("k", std::nullopt, kNow, request(kNow, "fp", 5 * kMinute, 24 * kHour));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_EQ(d.job_id, 0);
  ASSERT_TRUE(d.start);
  EXPECT_EQ(d.start->attempt, 1);
  EXPECT_TRUE(d.start->fresh);
  EXPECT_EQ(d.start->fingerprint, "fp");
  EXPECT_EQ(d.start->lease_until, kNow + 5 * kMinute);
  EXPECT_EQ(d.start->expires_at, kNow + 24 * kHour);
}

TEST(IdemBegin, ExpiryIsNeverBeforeTheLease) {
  BeginDecision d = decide_begin("k", std::nullopt, kNow, request(kNow, std::nullopt, 2 * kHour, kHour));
  EXPECT_EQ(d.start->lease_until, kNow + 2 * kHour);
  EXPECT_EQ(d.start->expires_at, kNow + 2 * kHour);
}

TEST(IdemBegin, LiveJobIsReportedInProgress) {
  Stored s = stored(Status::in_progress, 42, 3, kNow + kMinute, kNow + kHour, "fp");
  for (bool rerun : {false, true}) {
    BeginDecision d = decide_begin("k", s, kNow, request(kNow, "fp", kMinute, kHour, rerun));
    EXPECT_EQ(d.answer, Answer::in_progress);
    EXPECT_EQ(d.job_id, 42);
    EXPECT_EQ(d.attempt, 3);
    EXPECT_FALSE(d.start);
  }
  // No fingerprint on either side is never a mismatch.
  EXPECT_EQ(decide_begin("k", s, kNow, request(kNow)).answer, Answer::in_progress);
}

TEST(IdemBegin, CompletedReplaysUntilExpiry) {
  Stored s = stored(Status::completed, 42, 1, 0, kNow + kHour, "fp");
  BeginDecision d = decide_begin("k", s, kNow + kHour - 1, request(kNow + kHour - 1, "fp"));
  EXPECT_EQ(d.answer, Answer::completed);
  EXPECT_EQ(d.job_id, 42);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_FALSE(d.start);
  // At expiry the key is new again: attempt 1, whatever it stored before.
  d = decide_begin("k", s, kNow + kHour, request(kNow + kHour, "other"));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_TRUE(d.start->fresh);
  EXPECT_EQ(d.start->fingerprint, "other");
}

TEST(IdemBegin, RerunCompletedStartsTheNextAttempt) {
  Stored s = stored(Status::completed, 42, 2, 0, kNow + kHour, "fp");
  BeginDecision d = decide_begin("k", s, kNow, request(kNow, std::nullopt, kMinute, kHour, true));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 3);
  EXPECT_FALSE(d.start->fresh);
  EXPECT_EQ(d.start->fingerprint, "fp") << "a retry without fingerprint keeps the key's";
  EXPECT_EQ(d.start->lease_until, kNow + kMinute);
  EXPECT_EQ(d.start->expires_at, kNow + kHour);
}

TEST(IdemBegin, FailedStartsTheNextAttemptWithoutRerun) {
  Stored s = stored(Status::failed, 42, 1, 0, kNow + kHour);
  BeginDecision d = decide_begin("k", s, kNow, request(kNow, "fp"));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 2);
  EXPECT_FALSE(d.start->fresh);
  EXPECT_EQ(d.start->fingerprint, "fp") << "a key without fingerprint takes the first one given";
}

TEST(IdemBegin, ExpiredLeaseStartsTheNextAttempt) {
  Stored s = stored(Status::in_progress, 42, 4, kNow, kNow + kHour);
  BeginDecision d = decide_begin("k", s, kNow, request(kNow));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 5);
  EXPECT_FALSE(d.start->fresh);
}

TEST(IdemBegin, ExpiredKeyOfAnyStatusStartsFresh) {
  for (Status st : {Status::in_progress, Status::completed, Status::failed}) {
    Stored s = stored(st, 42, 9, kNow - kHour, kNow - 1, "old");
    BeginDecision d = decide_begin("k", s, kNow, request(kNow));
    EXPECT_EQ(d.answer, Answer::started) << status_name(st);
    EXPECT_EQ(d.attempt, 1);
    EXPECT_TRUE(d.start->fresh);
    EXPECT_FALSE(d.start->fingerprint) << "an expired key forgets its fingerprint";
  }
}

TEST(IdemBegin, DifferentFingerprintIsAnErrorInEveryState) {
  for (Status st : {Status::in_progress, Status::completed, Status::failed}) {
    Stored s = stored(st, 42, 2, kNow + kMinute, kNow + kHour, "fp-1");
    std::string m = error_of([&] { decide_begin("user:7:file", s, kNow, request(kNow, "fp-2", kMinute, kHour, true)); },
                             "22023");
    EXPECT_NE(m.find("\"user:7:file\""), std::string::npos) << m;
  }
}

TEST(IdemBegin, NullFingerprintOnEitherSideIsNoMismatch) {
  Stored with = stored(Status::completed, 42, 1, 0, kNow + kHour, "fp");
  EXPECT_EQ(decide_begin("k", with, kNow, request(kNow)).answer, Answer::completed);
  Stored without = stored(Status::completed, 42, 1, 0, kNow + kHour);
  EXPECT_EQ(decide_begin("k", without, kNow, request(kNow, "fp")).answer, Answer::completed);
  // The empty string is a fingerprint like any other.
  EXPECT_THROW(decide_begin("k", with, kNow, request(kNow, "")), Error);
}

TEST(IdemBegin, ExpiredKeyAcceptsAnyFingerprint) {
  Stored s = stored(Status::completed, 42, 1, 0, kNow, "fp-1");
  EXPECT_EQ(decide_begin("k", s, kNow, request(kNow, "fp-2")).answer, Answer::started);
}

TEST(IdemBegin, AttemptCounterCannotOverflow) {
  Stored s = stored(Status::failed, 42, std::numeric_limits<int32_t>::max(), 0, kNow + kHour);
  error_of([&] { decide_begin("k", s, kNow, request(kNow)); }, "22003");
}

TEST(IdemBegin, DeadlinesAreTakenAsGiven) {
  // The caller adds intervals in calendar arithmetic ('1 month' from January 31st...).
  BeginRequest r = request(kNow);
  r.lease_until = kNow + 7;
  r.ttl_until = kNow + 29 * 24 * kHour;
  BeginDecision d = decide_begin("k", std::nullopt, kNow, r);
  EXPECT_EQ(d.start->lease_until, kNow + 7);
  EXPECT_EQ(d.start->expires_at, kNow + 29 * 24 * kHour);
}

// --- complete, fail, heartbeat -------------------------------------------------------------

TEST(IdemFinish, TheLiveJobCompletesOrFails) {
  Stored s = stored(Status::in_progress, 42, 1, kNow + kMinute, kNow + kHour);
  FinishDecision c = decide_finish("k", s, kNow, 42, Finish::complete, kNow + 2 * kHour);
  EXPECT_EQ(c.status, Status::completed);
  EXPECT_EQ(c.expires_at, kNow + 2 * kHour) << "the outcome is kept for ttl after it is stored";
  FinishDecision f = decide_finish("k", s, kNow, 42, Finish::fail, kNow + 2 * kHour);
  EXPECT_EQ(f.status, Status::failed);
  EXPECT_EQ(f.expires_at, kNow + 2 * kHour);
}

TEST(IdemFinish, ALateWorkerFinishesIfNobodyTookOver) {
  Stored s = stored(Status::in_progress, 42, 1, kNow - kMinute, kNow + kHour);
  EXPECT_EQ(decide_finish("k", s, kNow, 42, Finish::complete, kNow + kHour).status, Status::completed);
  EXPECT_EQ(decide_heartbeat("k", s, kNow, 42, kNow + kMinute).lease_until, kNow + kMinute);
}

TEST(IdemFinish, AnyOtherJobGets55000) {
  Stored taken_over = stored(Status::in_progress, 43, 2, kNow + kMinute, kNow + kHour);
  Stored completed = stored(Status::completed, 42, 1, 0, kNow + kHour);
  Stored failed = stored(Status::failed, 42, 1, 0, kNow + kHour);
  Stored gone = stored(Status::in_progress, 42, 1, kNow - kMinute, kNow);
  for (Finish how : {Finish::complete, Finish::fail}) {
    std::string m = error_of([&] { decide_finish("k", taken_over, kNow, 42, how, kNow + kHour); }, "55000");
    EXPECT_EQ(m, "job 42 is no longer the live job of idempotency key \"k\"");
    m = error_of([&] { decide_finish("k", completed, kNow, 42, how, kNow + kHour); }, "55000");
    EXPECT_EQ(m, "job 42 of idempotency key \"k\" is already completed");
    m = error_of([&] { decide_finish("k", failed, kNow, 42, how, kNow + kHour); }, "55000");
    EXPECT_EQ(m, "job 42 of idempotency key \"k\" is already failed");
    m = error_of([&] { decide_finish("k", gone, kNow, 42, how, kNow + kHour); }, "55000");
    EXPECT_NE(m.find("does not exist or has expired"), std::string::npos) << m;
    m = error_of([&] { decide_finish("k", std::nullopt, kNow, 42, how, kNow + kHour); }, "55000");
    EXPECT_NE(m.find("does not exist or has expired"), std::string::npos) << m;
  }
  error_of([&] { decide_heartbeat("k", taken_over, kNow, 42, kNow + kMinute); }, "55000");
  error_of([&] { decide_heartbeat("k", completed, kNow, 42, kNow + kMinute); }, "55000");
  error_of([&] { decide_heartbeat("k", failed, kNow, 42, kNow + kMinute); }, "55000");
  error_of([&] { decide_heartbeat("k", gone, kNow, 42, kNow + kMinute); }, "55000");
  error_of([&] { decide_heartbeat("k", std::nullopt, kNow, 42, kNow + kMinute); }, "55000");
}

TEST(IdemHeartbeat, ExtendsTheLeaseAndTheExpiryWithIt) {
  Stored s = stored(Status::in_progress, 42, 1, kNow + kMinute, kNow + kHour);
  HeartbeatDecision h = decide_heartbeat("k", s, kNow, 42, kNow + 10 * kMinute);
  EXPECT_EQ(h.lease_until, kNow + 10 * kMinute);
  EXPECT_EQ(h.expires_at, kNow + kHour) << "a short lease does not shorten the key's life";
  h = decide_heartbeat("k", s, kNow, 42, kNow + 3 * kHour);
  EXPECT_EQ(h.lease_until, kNow + 3 * kHour);
  EXPECT_EQ(h.expires_at, kNow + 3 * kHour);
  h = decide_heartbeat("k", s, kNow, 42, kNow + kSecond);
  EXPECT_EQ(h.lease_until, kNow + kSecond) << "a heartbeat may also shorten the lease";
}

// --- a whole story ----------------------------------------------------------------------

TEST(IdemStory, DoubleClickRetryAndRerun) {
  std::optional<Stored> row;
  Micros t = kNow;
  int64_t next_job = 100;
  // Click 1 starts job 100; click 2 sees it running.
  BeginDecision d = decide_begin("imp", row, t, request(t, "h1", kMinute, kHour));
  ASSERT_EQ(d.answer, Answer::started);
  row = apply(d, next_job++);
  d = decide_begin("imp", row, t + kSecond, request(t + kSecond, "h1", kMinute, kHour));
  EXPECT_EQ(d.answer, Answer::in_progress);
  EXPECT_EQ(d.job_id, 100);
  // The worker dies; after the lease, a retry takes over as attempt 2 with job 101.
  t += 2 * kMinute;
  d = decide_begin("imp", row, t, request(t, "h1", kMinute, kHour));
  ASSERT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 2);
  row = apply(d, next_job++);
  EXPECT_THROW(decide_finish("imp", row, t, 100, Finish::complete, t + kHour), Error);
  // Job 101 completes; every click replays it.
  FinishDecision f = decide_finish("imp", row, t + kSecond, 101, Finish::complete, t + kSecond + kHour);
  row->status = f.status;
  row->lease_until.reset();
  row->expires_at = f.expires_at;
  d = decide_begin("imp", row, t + kMinute, request(t + kMinute, "h1", kMinute, kHour));
  EXPECT_EQ(d.answer, Answer::completed);
  EXPECT_EQ(d.job_id, 101);
  EXPECT_EQ(d.attempt, 2);
  // A deliberate re-import is attempt 3.
  d = decide_begin("imp", row, t + kMinute, request(t + kMinute, "h1", kMinute, kHour, true));
  EXPECT_EQ(d.answer, Answer::started);
  EXPECT_EQ(d.attempt, 3);
}

// Random histories: whatever happens, at most one job is live, job ids only move
// forward with attempts, and a started answer always comes with a new attempt.
TEST(IdemStory, RandomHistoriesKeepOneLiveJob) {
  std::mt19937_64 rng(5);
  for (int run = 0; run < 200; run++) {
    std::optional<Stored> row;
    Micros t = kNow;
    int64_t next_job = 1;
    for (int step = 0; step < 300; step++) {
      t += (Micros)(rng() % (3 * kMinute));
      int64_t job = row ? row->job_id - (int64_t)(rng() % 2) : 1;
      switch (rng() % 5) {
        case 0:
        case 1: {
          std::optional<Stored> before = row;
          BeginDecision d = decide_begin("k", row, t, request(t, std::nullopt, kMinute, 30 * kMinute, rng() % 4 == 0));
          if (d.answer == Answer::started) {
            ASSERT_FALSE(before && lease_live(*before, t)) << "a live job was taken over";
            if (visible(before, t)) {
              EXPECT_EQ(d.attempt, before->attempt + 1);
            } else {
              EXPECT_EQ(d.attempt, 1);
            }
            row = apply(d, next_job++);
          } else {
            ASSERT_TRUE(visible(before, t));
            EXPECT_EQ(d.job_id, before->job_id);
            EXPECT_EQ(d.answer == Answer::in_progress, lease_live(*before, t));
          }
          break;
        }
        case 2:
        case 3: {
          Finish how = rng() % 2 ? Finish::complete : Finish::fail;
          bool may = visible(row, t) && row->job_id == job && row->status == Status::in_progress;
          if (may) {
            FinishDecision f = decide_finish("k", row, t, job, how, t + 30 * kMinute);
            row->status = f.status;
            row->lease_until.reset();
            row->expires_at = f.expires_at;
          } else {
            EXPECT_THROW(decide_finish("k", row, t, job, how, t + 30 * kMinute), Error);
          }
          break;
        }
        default: {
          bool may = visible(row, t) && row->job_id == job && row->status == Status::in_progress;
          if (may) {
            HeartbeatDecision h = decide_heartbeat("k", row, t, job, t + kMinute);
            row->lease_until = h.lease_until;
            row->expires_at = h.expires_at;
          } else {
            EXPECT_THROW(decide_heartbeat("k", row, t, job, t + kMinute), Error);
          }
        }
      }
      if (row) {
        EXPECT_GE(row->attempt, 1);
        if (row->status == Status::in_progress) {
          EXPECT_GE(row->expires_at, *row->lease_until);
        }
      }
    }
  }
}

}  // namespace
