#include "seqguard/core/drift.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace seqguard::core {

namespace {

__extension__ typedef __int128 i128;

constexpr i128 kInt64Max = std::numeric_limits<int64_t>::max();

// A descending sequence is handled as the ascending mirror image of itself: every value
// is negated, MINVALUE and MAXVALUE swap, MIN(column) becomes MAX. In 128 bits the
// negation of INT64_MIN is exact, so one code path serves both directions.
struct Mirror {
  bool ascending;
  i128 to(int64_t v) const { return ascending ? (i128)v : -(i128)v; }
  int64_t from(i128 v) const { return (int64_t)(ascending ? v : -v); }
};

std::optional<i128> mirrored_next(const SequenceSnapshot& s, const Mirror& m, bool* wrapped) {
  *wrapped = false;
  i128 last = m.to(s.last_value);
  if (!s.is_called) return last;
  i128 inc = m.to(s.increment);
  i128 hi = m.to(m.ascending ? s.max : s.min);
  i128 lo = m.to(m.ascending ? s.min : s.max);
  i128 next = last + inc;
  if (next <= hi) return next;
  if (!s.cycle) return std::nullopt;
  *wrapped = true;
  return lo;
}

int64_t clamp_count(i128 n) { return n > kInt64Max ? std::numeric_limits<int64_t>::max() : (int64_t)n; }

}  // namespace

const char* drift_status_name(DriftStatus s) noexcept {
  switch (s) {
    case DriftStatus::ok:
      return "ok";
    case DriftStatus::behind:
      return "behind";
    case DriftStatus::empty:
      return "empty";
    case DriftStatus::exhausted:
      return "exhausted";
    case DriftStatus::no_privilege:
      return "no_privilege";
  }
  return "?";
}

std::optional<int64_t> sequence_next_value(const SequenceSnapshot& s) noexcept {
  Mirror m{s.increment > 0};
  bool wrapped = false;
  std::optional<i128> next = mirrored_next(s, m, &wrapped);
  if (!next) return std::nullopt;
  return m.from(*next);
}

ValueRange intersect(const ValueRange& a, const ValueRange& b) noexcept {
  return ValueRange{std::max(a.min, b.min), std::min(a.max, b.max)};
}

std::optional<int64_t> further(bool ascending, std::optional<int64_t> a, std::optional<int64_t> b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return ascending ? std::max(*a, *b) : std::min(*a, *b);
}

DriftDecision decide_drift(const DriftInput& in) {
  DriftDecision d;
  if (!in.sequence || !in.column_readable || in.rows_hidden) {
    d.status = DriftStatus::no_privilege;
    if (in.sequence) d.next_value = sequence_next_value(*in.sequence);
    if (!in.sequence) d.reason = "the caller may not read the sequence (SELECT on it, USAGE on its schema)";
    if (!in.column_readable) {
      if (!d.reason.empty()) d.reason += "; ";
      d.reason += "the caller may not read the column (SELECT)";
    }
    if (in.rows_hidden) {
      if (!d.reason.empty()) d.reason += "; ";
      d.reason += "row-level security may hide rows of the table from the caller";
    }
    return d;
  }

  const SequenceSnapshot& s = *in.sequence;
  const Mirror m{s.increment > 0};
  const char* extreme_word = m.ascending ? "max" : "min";
  const char* limit_word = m.ascending ? "MAXVALUE" : "MINVALUE";
  const char* type_word = m.ascending ? "largest" : "smallest";
  const int64_t limit = m.ascending ? s.max : s.min;
  const int64_t type_limit = m.ascending ? in.column_range.max : in.column_range.min;

  bool wrapped = false;
  std::optional<i128> next = mirrored_next(s, m, &wrapped);
  if (next) d.next_value = m.from(*next);

  if (!in.column_extreme) {
    d.status = DriftStatus::empty;
    d.lag = 0;
    return d;
  }
  const int64_t extreme = *in.column_extreme;

  if (!next) {
    d.status = DriftStatus::exhausted;
    d.lag = 0;
    d.reason = fmt::format("the sequence has reached its {} {}", limit_word, limit);
    return d;
  }

  const i128 inc = m.to(s.increment);
  const i128 hi = m.to(limit);
  const i128 type_hi = m.to(type_limit);
  const i128 top = m.to(extreme);

  if (*next > top) {
    if (*next > type_hi) {
      d.status = DriftStatus::exhausted;
      d.lag = 0;
      d.reason = fmt::format("its next value {} does not fit the column type ({} {})", m.from(*next), type_word,
                             type_limit);
      return d;
    }
    d.status = DriftStatus::ok;
    d.lag = 0;
    return d;
  }

  // nextval() returns next, next + inc, ... up to the sequence's own limit; count those
  // not past the extreme.
  d.lag = clamp_count((std::min(top, hi) - *next) / inc + 1);

  if (wrapped) {
    d.status = DriftStatus::exhausted;
    d.reason = fmt::format("the CYCLE sequence wraps around to {}, which is not past the column's {} {}",
                           m.from(*next), extreme_word, extreme);
    return d;
  }

  const i128 new_next = top + inc;
  if (new_next > hi) {
    d.status = DriftStatus::exhausted;
    d.reason = fmt::format("no value past the column's {} {} is within the sequence's {} {}", extreme_word, extreme,
                           limit_word, limit);
    return d;
  }
  if (new_next > type_hi) {
    d.status = DriftStatus::exhausted;
    d.reason = fmt::format("the first value past the column's {} {}, {}, does not fit the column type ({} {})",
                           extreme_word, extreme, m.from(new_next), type_word, type_limit);
    return d;
  }

  d.target = extreme;
  d.new_next = m.from(new_next);
  if (!in.may_update) {
    d.status = DriftStatus::no_privilege;
    d.reason = "the caller may not update the sequence (UPDATE)";
    return d;
  }
  d.status = DriftStatus::behind;
  return d;
}

}  // namespace seqguard::core
