// Sequence drift and the duplicate finder (docs/reference.md, "Sequence drift"): the
// PostgreSQL side. Finds every (table, column, sequence) through the catalogs, reads the
// columns' extremes and the sequences' states with the caller's privileges, lets the
// core decide (seqguard/core/drift.hpp), and moves sequences forward with
// advance_sequence().
#pragma once

#include "seqguard/core/drift.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/bridge.hpp"

namespace seqguard::pg {

// One row of seqguard_check_drift().
struct DriftRow {
  Oid table;
  std::string column;
  Oid sequence;
  bool identity;                          // kind: 'identity', else 'serial'
  std::optional<int64_t> last_value;      // NULL when never called, or unreadable
  std::optional<int64_t> column_extreme;  // MAX, or MIN for a descending sequence
  core::DriftDecision decision;
};

// Every column of every schema the caller may use (or of `schema_name` only) that draws
// from a sequence, ordered by table, column, sequence.
std::vector<DriftRow> check_drift(const std::optional<std::string>& schema_name);

// seqguard_sync_all(): moves every sequence behind its data forward, then the counters
// of series bound to a target column; raises one error (55000) listing what could not
// move. Returns how many sequences and series counters moved (or would move).
int32_t sync_all(bool dry_run, const std::optional<std::string>& schema_name);

// seqguard_sync(tbl): the same for the sequences the columns of one table (and of its
// partitions and inheritance children) draw from, and the series bound to it.
int32_t sync_table(Oid table);

struct Duplicate {
  std::string value;
  int64_t copies;
};
// Values of `column` that occur more than once in `table`, in the column's order;
// 42703 when there is no such column.
std::vector<Duplicate> find_duplicates(Oid table, const std::string& column);

}  // namespace seqguard::pg
