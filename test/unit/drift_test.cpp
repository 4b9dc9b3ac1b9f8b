// Unit tests of the drift decision (docs/reference.md, "Sequence drift"): every
// case that is arithmetic, plus the int64 edges, checked against a step-by-step nextval() simulation.
#include "seqguard/core/drift.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <utility>

namespace {

using seqguard::core::decide_drift;
using seqguard::core::drift_status_name;
using seqguard::core::DriftDecision;
using seqguard::core::DriftInput;
using seqguard::core::DriftStatus;
using seqguard::core::further;
using seqguard::core::int2_range;
using seqguard::core::int4_range;
using seqguard::core::int8_range;
using seqguard::core::intersect;
using seqguard::core::sequence_next_value;
using seqguard::core::SequenceSnapshot;
using seqguard::core::ValueRange;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// A sequence as CREATE SEQUENCE makes it: ascending 1..kMax, or descending -1..kMin.
SequenceSnapshot ascending(int64_t last, bool called, int64_t inc = 1, int64_t min = 1, int64_t max = kMax) {
  return SequenceSnapshot{last, called, min, inc, min, max, false};
}
SequenceSnapshot descending(int64_t last, bool called, int64_t inc = -1, int64_t min = kMin, int64_t max = -1) {
  return SequenceSnapshot{last, called, max, inc, min, max, false};
}

DriftDecision decide(const SequenceSnapshot& s, std::optional<int64_t> extreme, ValueRange range = int8_range,
                     bool may_update = true) {
  DriftInput in;
  in.sequence = s;
  in.column_extreme = extreme;
  in.column_range = range;
  in.may_update = may_update;
  return decide_drift(in);
}

// --- nextval() -----------------------------------------------------------------------

TEST(DriftNextValue, IsCalledDecidesBetweenLastAndLastPlusIncrement) {
  EXPECT_EQ(sequence_next_value(ascending(1, false)), 1);
  EXPECT_EQ(sequence_next_value(ascending(1, true)), 2);
  EXPECT_EQ(sequence_next_value(ascending(10, true, 5)), 15);
  EXPECT_EQ(sequence_next_value(descending(-1, false)), -1);
  EXPECT_EQ(sequence_next_value(descending(-1, true)), -2);
  EXPECT_EQ(sequence_next_value(descending(-10, true, -3)), -13);
}

TEST(DriftNextValue, NothingPastTheLimitWithoutCycle) {
  EXPECT_EQ(sequence_next_value(ascending(100, true, 1, 1, 100)), std::nullopt);
  EXPECT_EQ(sequence_next_value(ascending(100, false, 1, 1, 100)), 100);
  EXPECT_EQ(sequence_next_value(ascending(98, true, 5, 1, 100)), std::nullopt);
  EXPECT_EQ(sequence_next_value(ascending(kMax, true)), std::nullopt);
  EXPECT_EQ(sequence_next_value(ascending(kMax - 1, true)), kMax);
  EXPECT_EQ(sequence_next_value(ascending(0, true, kMax, 0, kMax)), kMax);
  EXPECT_EQ(sequence_next_value(ascending(1, true, kMax, 0, kMax)), std::nullopt);
  EXPECT_EQ(sequence_next_value(descending(kMin, true)), std::nullopt);
  EXPECT_EQ(sequence_next_value(descending(kMin + 1, true)), kMin);
  EXPECT_EQ(sequence_next_value(descending(-1, true, kMin, kMin, -1)), std::nullopt);
}

TEST(DriftNextValue, CycleWrapsToTheOtherEnd) {
  SequenceSnapshot s = ascending(100, true, 1, 1, 100);
  s.cycle = true;
  EXPECT_EQ(sequence_next_value(s), 1);
  SequenceSnapshot d = descending(-100, true, -1, -100, -1);
  d.cycle = true;
  EXPECT_EQ(sequence_next_value(d), -1);
}

TEST(DriftHelpers, StatusNames) {
  EXPECT_STREQ(drift_status_name(DriftStatus::ok), "ok");
  EXPECT_STREQ(drift_status_name(DriftStatus::behind), "behind");
  EXPECT_STREQ(drift_status_name(DriftStatus::empty), "empty");
  EXPECT_STREQ(drift_status_name(DriftStatus::exhausted), "exhausted");
  EXPECT_STREQ(drift_status_name(DriftStatus::no_privilege), "no_privilege");
}

TEST(DriftHelpers, IntersectAndFurther) {
  ValueRange r = intersect(int8_range, int4_range);
  EXPECT_EQ(r.min, int4_range.min);
  EXPECT_EQ(r.max, int4_range.max);
  r = intersect(int2_range, int4_range);
  EXPECT_EQ(r.max, 32767);
  EXPECT_EQ(further(true, 3, 7), 7);
  EXPECT_EQ(further(false, 3, 7), 3);
  EXPECT_EQ(further(true, std::nullopt, 7), 7);
  EXPECT_EQ(further(false, -4, std::nullopt), -4);
  EXPECT_EQ(further(true, std::nullopt, std::nullopt), std::nullopt);
}

// --- statuses ------------------------------------------------------------------------

TEST(DriftDecide, BehindAfterAnImport) {
  // serial used once (last_value 1), then rows 2..10 imported with explicit ids.
  DriftDecision d = decide(ascending(1, true), 10);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.next_value, 2);
  EXPECT_EQ(d.lag, 9);  // nextval() would return 2..10, all taken
  EXPECT_EQ(d.target, 10);
  EXPECT_EQ(d.new_next, 11);
  EXPECT_TRUE(d.reason.empty());
}

TEST(DriftDecide, NeverCalledSequenceCountsItsFirstValue) {
  DriftDecision d = decide(ascending(1, false), 10);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.next_value, 1);
  EXPECT_EQ(d.lag, 10);
  EXPECT_EQ(d.target, 10);
  EXPECT_EQ(d.new_next, 11);
}

TEST(DriftDecide, IsCalledTrueAndFalseAtTheSameLastValue) {
  // The classic setval(seq, max(id)) vs setval(seq, max(id), false) mix-up.
  DriftDecision f = decide(ascending(10, false), 10);
  EXPECT_EQ(f.status, DriftStatus::behind);
  EXPECT_EQ(f.next_value, 10);
  EXPECT_EQ(f.lag, 1);
  EXPECT_EQ(f.new_next, 11);
  DriftDecision t = decide(ascending(10, true), 10);
  EXPECT_EQ(t.status, DriftStatus::ok);
  EXPECT_EQ(t.next_value, 11);
  EXPECT_EQ(t.lag, 0);
  EXPECT_EQ(t.target, std::nullopt);
}

TEST(DriftDecide, AheadIsOkAndNeverMovedBack) {
  DriftDecision d = decide(ascending(500, true), 10);
  EXPECT_EQ(d.status, DriftStatus::ok);
  EXPECT_EQ(d.next_value, 501);
  EXPECT_EQ(d.lag, 0);
  EXPECT_EQ(d.target, std::nullopt);
  EXPECT_EQ(d.new_next, std::nullopt);
}

TEST(DriftDecide, EmptyColumnLeavesTheSequenceAlone) {
  SequenceSnapshot s{1000, false, 1000, 1, 1, kMax, false};  // START 1000, never called
  DriftDecision d = decide(s, std::nullopt);
  EXPECT_EQ(d.status, DriftStatus::empty);
  EXPECT_EQ(d.next_value, 1000);
  EXPECT_EQ(d.lag, 0);
  EXPECT_EQ(d.target, std::nullopt);
}

TEST(DriftDecide, EmptyWinsOverAnExhaustedSequence) {
  DriftDecision d = decide(ascending(100, true, 1, 1, 100), std::nullopt);
  EXPECT_EQ(d.status, DriftStatus::empty);
  EXPECT_EQ(d.next_value, std::nullopt);
}

TEST(DriftDecide, StartAndMinvalueAboveOne) {
  // MINVALUE 100 START 100: data 1..50 (below anything the sequence can give) is no drift.
  SequenceSnapshot s{100, false, 100, 1, 100, kMax, false};
  EXPECT_EQ(decide(s, 50).status, DriftStatus::ok);
  EXPECT_EQ(decide(s, 99).status, DriftStatus::ok);
  DriftDecision d = decide(s, 100);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.lag, 1);
  EXPECT_EQ(d.new_next, 101);
  d = decide(s, 150);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.lag, 51);
  EXPECT_EQ(d.target, 150);
  EXPECT_EQ(d.new_next, 151);
}

TEST(DriftDecide, IncrementAboveOne) {
  DriftDecision d = decide(ascending(1, false, 5), 10);  // would return 1, 6, 11
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.lag, 2);
  EXPECT_EQ(d.target, 10);
  EXPECT_EQ(d.new_next, 15);
  EXPECT_EQ(decide(ascending(6, true, 5), 10).status, DriftStatus::ok);  // next 11
}

TEST(DriftDecide, DescendingComparesWithMinAndMovesDown) {
  DriftDecision d = decide(descending(-1, false), -10);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.next_value, -1);
  EXPECT_EQ(d.lag, 10);
  EXPECT_EQ(d.target, -10);
  EXPECT_EQ(d.new_next, -11);

  d = decide(descending(-3, true, -2), -10);  // would return -5, -7, -9, -11
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.lag, 3);
  EXPECT_EQ(d.new_next, -12);

  d = decide(descending(-20, true), -10);
  EXPECT_EQ(d.status, DriftStatus::ok);
  EXPECT_EQ(d.next_value, -21);
  // A descending sequence is "ahead" when it is below the data, not above.
  EXPECT_EQ(decide(descending(-1, false), 5).status, DriftStatus::ok);
}

TEST(DriftDecide, DescendingExhaustedAtMinvalue) {
  DriftDecision d = decide(descending(-1, false, -1, -100, -1), -100);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.lag, 100);
  EXPECT_EQ(d.target, std::nullopt);
  EXPECT_NE(d.reason.find("MINVALUE -100"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("min -100"), std::string::npos) << d.reason;
  EXPECT_EQ(decide(descending(-1, false, -1, -100, -1), -99).status, DriftStatus::behind);
}

TEST(DriftDecide, ColumnBeyondMaxvalueIsExhausted) {
  SequenceSnapshot s = ascending(5, true, 1, 1, 100);
  DriftDecision d = decide(s, 150);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.next_value, 6);
  EXPECT_EQ(d.lag, 95);  // 6..100, then nextval() fails
  EXPECT_EQ(d.target, std::nullopt);
  EXPECT_EQ(d.reason, "no value past the column's max 150 is within the sequence's MAXVALUE 100");
  // At MAXVALUE itself there is no value left past it either.
  EXPECT_EQ(decide(s, 100).status, DriftStatus::exhausted);
  d = decide(s, 99);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.new_next, 100);
}

TEST(DriftDecide, SequenceAtItsEndIsExhaustedEvenIfAhead) {
  DriftDecision d = decide(ascending(100, true, 1, 1, 100), 10);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.next_value, std::nullopt);
  EXPECT_EQ(d.lag, 0);
  EXPECT_EQ(d.reason, "the sequence has reached its MAXVALUE 100");
}

TEST(DriftDecide, CycleWrappingOntoDataCannotBeFixedForward) {
  SequenceSnapshot s = ascending(100, true, 1, 1, 100);
  s.cycle = true;
  DriftDecision d = decide(s, 40);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.next_value, 1);
  EXPECT_EQ(d.lag, 40);
  EXPECT_NE(d.reason.find("wraps around to 1"), std::string::npos) << d.reason;
  SequenceSnapshot high{100, true, 50, 1, 50, 100, true};  // wraps to 50
  EXPECT_EQ(decide(high, 40).status, DriftStatus::ok);
  // Behind but not wrapped: a move past the data works as for any sequence...
  SequenceSnapshot c = ascending(10, true, 1, 1, 100);
  c.cycle = true;
  EXPECT_EQ(decide(c, 50).status, DriftStatus::behind);
  // ...unless it would land on the last value, after which it wraps onto the data.
  EXPECT_EQ(decide(c, 100).status, DriftStatus::exhausted);
}

TEST(DriftDecide, IntColumnOnBigintSequence) {
  // serial on a table whose sequence was later altered AS bigint, or an int column with
  // DEFAULT nextval of a bigint sequence: the column type is the real limit.
  SequenceSnapshot s = ascending(1, true);
  DriftDecision d = decide(s, 2147483646, int4_range);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.new_next, 2147483647);
  d = decide(s, 2147483647, int4_range);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.reason,
            "the first value past the column's max 2147483647, 2147483648, does not fit the column type "
            "(largest 2147483647)");
  // The same data in a bigint column is fine.
  EXPECT_EQ(decide(s, 2147483647, int8_range).status, DriftStatus::behind);
  // A sequence already past the type's range cannot give the column anything.
  d = decide(ascending(3000000000, true), 10, int4_range);
  EXPECT_EQ(d.status, DriftStatus::exhausted);
  EXPECT_EQ(d.next_value, 3000000001);
  EXPECT_EQ(d.reason, "its next value 3000000001 does not fit the column type (largest 2147483647)");
  // smallserial: the sequence is AS smallint, MAXVALUE 32767.
  EXPECT_EQ(decide(ascending(1, true, 1, 1, 32767), 32767, int2_range).status, DriftStatus::exhausted);
  EXPECT_EQ(decide(ascending(1, true, 1, 1, 32767), 32766, int2_range).new_next, 32767);
  // Descending on int4: the smallest int is the limit.
  EXPECT_EQ(decide(descending(-1, true), int4_range.min, int4_range).status, DriftStatus::exhausted);
  EXPECT_EQ(decide(descending(-1, true), int4_range.min + 1, int4_range).new_next, int4_range.min);
}

TEST(DriftDecide, Privileges) {
  DriftInput in;
  in.sequence = std::nullopt;
  in.column_extreme = 10;
  DriftDecision d = decide_drift(in);
  EXPECT_EQ(d.status, DriftStatus::no_privilege);
  EXPECT_EQ(d.next_value, std::nullopt);
  EXPECT_EQ(d.lag, std::nullopt);
  EXPECT_NE(d.reason.find("may not read the sequence"), std::string::npos);

  in.sequence = ascending(1, true);
  in.column_readable = false;
  d = decide_drift(in);
  EXPECT_EQ(d.status, DriftStatus::no_privilege);
  EXPECT_EQ(d.next_value, 2);  // the sequence itself is readable
  EXPECT_EQ(d.lag, std::nullopt);
  EXPECT_EQ(d.reason, "the caller may not read the column (SELECT)");

  // Rows hidden by row-level security: whatever extreme was seen proves nothing.
  in.column_readable = true;
  in.rows_hidden = true;
  in.column_extreme = 10;
  d = decide_drift(in);
  EXPECT_EQ(d.status, DriftStatus::no_privilege);
  EXPECT_EQ(d.lag, std::nullopt);
  EXPECT_EQ(d.target, std::nullopt);
  EXPECT_EQ(d.reason, "row-level security may hide rows of the table from the caller");
  in.column_extreme = 1;  // even when what it sees says "ok"
  EXPECT_EQ(decide_drift(in).status, DriftStatus::no_privilege);
  in.column_readable = false;
  EXPECT_EQ(decide_drift(in).reason,
            "the caller may not read the column (SELECT); row-level security may hide rows of the table from the caller");

  // Not allowed to update: only matters when there is something to move.
  d = decide(ascending(1, true), 10, int8_range, false);
  EXPECT_EQ(d.status, DriftStatus::no_privilege);
  EXPECT_EQ(d.lag, 9);
  EXPECT_EQ(d.target, 10);
  EXPECT_EQ(d.reason, "the caller may not update the sequence (UPDATE)");
  EXPECT_EQ(decide(ascending(50, true), 10, int8_range, false).status, DriftStatus::ok);
  EXPECT_EQ(decide(ascending(1, true), std::nullopt, int8_range, false).status, DriftStatus::empty);
  EXPECT_EQ(decide(ascending(1, true, 1, 1, 5), 10, int8_range, false).status, DriftStatus::exhausted);
}

TEST(DriftDecide, Int64Edges) {
  SequenceSnapshot full{kMin, false, kMin, 1, kMin, kMax, false};
  DriftDecision d = decide(full, kMax - 1);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.lag, kMax);  // 2^64 - 1 values: clamped
  EXPECT_EQ(d.target, kMax - 1);
  EXPECT_EQ(d.new_next, kMax);
  EXPECT_EQ(decide(full, kMax).status, DriftStatus::exhausted);

  SequenceSnapshot down{kMax, false, kMax, -1, kMin, kMax, false};
  d = decide(down, kMin + 1);
  EXPECT_EQ(d.status, DriftStatus::behind);
  EXPECT_EQ(d.new_next, kMin);
  EXPECT_EQ(decide(down, kMin).status, DriftStatus::exhausted);

  // Huge increments do not overflow.
  SequenceSnapshot big{0, true, 0, kMax, kMin, kMax, false};
  d = decide(big, 5);
  EXPECT_EQ(d.status, DriftStatus::ok);
  EXPECT_EQ(d.next_value, kMax);
  SequenceSnapshot big2{1, true, 0, kMax, kMin, kMax, false};
  EXPECT_EQ(decide(big2, 5).status, DriftStatus::exhausted);
  SequenceSnapshot bigdown{kMin + 5, false, 0, kMin, kMin, kMax, false};
  d = decide(bigdown, 0);
  EXPECT_EQ(d.status, DriftStatus::ok);
  d = decide(bigdown, kMin + 5);
  EXPECT_EQ(d.status, DriftStatus::exhausted);  // kMin + 5 + kMin is out of range
  EXPECT_EQ(d.lag, 1);
}

// --- against a simulation ----------------------------------------------------------
//
// For small random sequences, run nextval() step by step and check that lag counts
// exactly the values not past the extreme before the sequence ends, that after
// setval(target, true) the first nextval() is new_next and past the extreme, and that
// "ok" means the very next value is already past it.

struct Sim {
  SequenceSnapshot s;
  std::optional<int64_t> nextval() {
    std::optional<int64_t> v = sequence_next_value(s);
    if (v) {
      s.last_value = *v;
      s.is_called = true;
    }
    return v;
  }
};

bool past(bool ascending, int64_t v, int64_t extreme) { return ascending ? v > extreme : v < extreme; }

TEST(DriftDecide, AgreesWithAStepByStepSimulation) {
  std::mt19937_64 rng(4);
  int seen[5] = {};
  for (int iter = 0; iter < 20000; iter++) {
    bool asc = rng() % 2 == 0;
    int64_t inc = 1 + (int64_t)(rng() % 4);
    int64_t lo = -30 + (int64_t)(rng() % 40);
    int64_t hi = lo + (int64_t)(rng() % 50);
    SequenceSnapshot s{0, false, 0, asc ? inc : -inc, lo, hi, rng() % 5 == 0};
    s.last_value = lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
    s.start = asc ? lo : hi;
    s.is_called = rng() % 2 == 0;
    // The column's type bounds what it can hold, the extreme included.
    ValueRange range{lo - 5 + (int64_t)(rng() % 10), hi - 5 + (int64_t)(rng() % 10)};
    if (range.min > range.max) std::swap(range.min, range.max);
    int64_t extreme = range.min + (int64_t)(rng() % (uint64_t)(range.max - range.min + 1));
    DriftDecision d = decide(s, extreme, range);
    SCOPED_TRACE(::testing::Message() << "asc " << asc << " inc " << s.increment << " [" << lo << "," << hi
                                      << "] last " << s.last_value << " called " << s.is_called << " cycle "
                                      << s.cycle << " extreme " << extreme << " range [" << range.min << ","
                                      << range.max << "] -> " << drift_status_name(d.status) << " " << d.reason);
    ASSERT_EQ(d.next_value, sequence_next_value(s));
    seen[(int)d.status]++;

    // lag: values handed out, in order, before one is past the extreme, the sequence
    // fails, or a CYCLE sequence wraps around.
    Sim sim{s};
    int64_t lag = 0;
    std::optional<int64_t> prev;
    for (int i = 0; i < 200; i++) {
      std::optional<int64_t> v = sim.nextval();
      if (!v || past(asc, *v, extreme)) break;
      if (prev && (asc ? *v <= *prev : *v >= *prev)) break;
      lag++;
      prev = v;
    }
    EXPECT_EQ(d.lag, lag);
    std::optional<int64_t> first = sequence_next_value(s);

    switch (d.status) {
      case DriftStatus::ok:
        ASSERT_TRUE(first.has_value());
        EXPECT_TRUE(past(asc, *first, extreme));
        EXPECT_TRUE(asc ? *first <= range.max : *first >= range.min);
        EXPECT_EQ(d.lag, 0);
        break;
      case DriftStatus::behind: {
        ASSERT_TRUE(first.has_value());
        EXPECT_FALSE(past(asc, *first, extreme));
        EXPECT_EQ(d.lag, lag);
        ASSERT_TRUE(d.target && d.new_next);
        // setval(target, true) must be legal and leave a usable value past the extreme.
        EXPECT_TRUE(*d.target >= lo && *d.target <= hi);
        Sim moved{s};
        moved.s.last_value = *d.target;
        moved.s.is_called = true;
        std::optional<int64_t> after = moved.nextval();
        ASSERT_TRUE(after.has_value());
        EXPECT_EQ(*after, *d.new_next);
        EXPECT_TRUE(past(asc, *after, extreme));
        EXPECT_TRUE(*after >= range.min && *after <= range.max);
        // Forward only: the move never goes back over values already handed out.
        EXPECT_TRUE(asc ? *d.new_next > *first : *d.new_next < *first);
        break;
      }
      case DriftStatus::exhausted: {
        // No forward move helps: nothing is left, the next value does not fit the column,
        // the sequence wrapped onto the data, or no value past the extreme fits both the
        // sequence and the column type.
        EXPECT_EQ(d.target, std::nullopt);
        if (!first) break;
        if (past(asc, *first, extreme)) {
          EXPECT_FALSE(asc ? *first <= range.max : *first >= range.min);
          break;
        }
        int64_t after_last = s.last_value + s.increment;
        bool wrapped_now = s.is_called && (after_last < lo || after_last > hi);
        int64_t candidate = extreme + s.increment;
        bool fits = candidate >= lo && candidate <= hi && candidate >= range.min && candidate <= range.max;
        EXPECT_TRUE(wrapped_now || !fits);
        break;
      }
      default:
        ADD_FAILURE() << "unexpected status";
    }
  }
  // The random cases reach every status the inputs allow, often.
  EXPECT_GT(seen[(int)DriftStatus::ok], 1000);
  EXPECT_GT(seen[(int)DriftStatus::behind], 1000);
  EXPECT_GT(seen[(int)DriftStatus::exhausted], 1000);
}

}  // namespace
