// Sequence drift (docs/reference.md, "Sequence drift"): is a sequence behind the data of
// a column that draws from it, and where must it move so that nextval() never returns a
// value already stored?
//
// The decision is pure arithmetic on a sequence's state and a column's extreme, kept
// here, away from PostgreSQL, so that every corner (descending sequences, MINVALUE and
// MAXVALUE, is_called, CYCLE, a column type narrower than the sequence, int64 limits)
// is unit-tested without a server. The PostgreSQL layer (src/pg/drift.cpp) only reads
// the inputs from the catalogs and carries out the move.
//
// Everything is computed in 128-bit integers: last_value + increment, MAX + increment,
// and counts of values between two bigints all overflow int64 at the edges.
#pragma once
#include "seqguard/core/cpp_only.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace seqguard::core {

enum class DriftStatus {
  ok,            // nextval() returns a value past the column's extreme (or nothing is stored)
  behind,        // nextval() would return a value the column may already hold: move it
  empty,         // the column holds no value: the sequence is left alone
  exhausted,     // no forward move can give a value past the extreme that fits
  no_privilege,  // the caller may not read what the decision needs, or may not move it
};

// "ok", "behind", "empty", "exhausted", "no_privilege": the SQL status column.
const char* drift_status_name(DriftStatus s) noexcept;

// A sequence as pg_sequence and the sequence relation describe it.
struct SequenceSnapshot {
  int64_t last_value;
  bool is_called;
  int64_t start;
  int64_t increment;  // never 0
  int64_t min;
  int64_t max;
  bool cycle;
};

// What nextval() returns now: last_value when !is_called, else last_value + increment,
// wrapping to MINVALUE (MAXVALUE when descending) for a CYCLE sequence past its end.
// Nothing when nextval() would raise "reached maximum value" (2200H).
std::optional<int64_t> sequence_next_value(const SequenceSnapshot& s) noexcept;

// The values a column can store.
struct ValueRange {
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
};
inline constexpr ValueRange int2_range{-32768, 32767};
inline constexpr ValueRange int4_range{-2147483647 - 1, 2147483647};
inline constexpr ValueRange int8_range{};

// The values every one of several columns can store.
ValueRange intersect(const ValueRange& a, const ValueRange& b) noexcept;

// The extreme of two column extremes: the larger for an ascending sequence, the smaller
// for a descending one. An empty column (nothing) does not count.
std::optional<int64_t> further(bool ascending, std::optional<int64_t> a, std::optional<int64_t> b) noexcept;

struct DriftInput {
  std::optional<SequenceSnapshot> sequence;  // nothing: the caller may not read the sequence
  bool column_readable = true;               // false: the caller may not read the column
  // Row-level security may hide rows of the table from the caller: the extreme it can
  // compute proves nothing, so it is not computed (column_extreme is ignored).
  bool rows_hidden = false;
  // MAX(column) for an ascending sequence, MIN(column) for a descending one; nothing when
  // the column holds no non-NULL value. Ignored when !column_readable.
  std::optional<int64_t> column_extreme;
  ValueRange column_range{};  // what the column's type can store (int2, int4, int8)
  bool may_update = true;     // the caller holds UPDATE on the sequence (setval)
};

struct DriftDecision {
  DriftStatus status = DriftStatus::ok;
  std::optional<int64_t> next_value;  // what nextval() returns now; nothing if unknown or it would fail
  // How many nextval() calls in a row would return a value not past the column's
  // extreme (values beyond the sequence's own limit are never returned). 0 when the
  // sequence is ok or the column empty; nothing when unknown.
  std::optional<int64_t> lag;
  // For a sequence that is behind: setval(target, true) makes nextval() return new_next,
  // the first value past the extreme. Also set for no_privilege when the sequence is
  // known to be behind, so that messages can say what a privileged role would do.
  std::optional<int64_t> target;
  std::optional<int64_t> new_next;
  std::string reason;  // for exhausted and no_privilege: why, in words, with the numbers
};

// The decision, in this order: no_privilege when the sequence or the column cannot be
// read, or rows may be hidden from the caller; empty when the column holds no value; exhausted when nextval() fails now, when
// the next value does not fit the column type, when a CYCLE sequence wrapped onto stored
// values, or when there is no value past the extreme that both the sequence and the
// column type can hold; ok when nextval() is already past the extreme; otherwise behind
// (no_privilege when the caller may not update the sequence).
DriftDecision decide_drift(const DriftInput& in);

}  // namespace seqguard::core
