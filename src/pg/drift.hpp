// Sequence drift (SPEC section 2) and the duplicate finder (section 4): the PostgreSQL
// side. Finds every (table, column, sequence) through the catalogs, reads the columns'
// extremes and the sequences' states with the caller's privileges, lets the core decide
// (seqguard/core/drift.hpp), and moves sequences forward with advance_sequence().
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
  Oid table;                              // InvalidOid: NULL (a counter no column shows)
  std::optional<std::string> column;
  Oid sequence;                           // InvalidOid: NULL (a gapless counter, a missing sequence)
  const char* kind;                       // 'serial', 'identity', 'series', 'fast_counter', 'idem_job_id'
  std::optional<int64_t> last_value;      // NULL when never called, or unreadable
  std::optional<int64_t> column_extreme;  // MAX, or MIN for a descending sequence
  core::DriftDecision decision;
};

// Every column of every schema the caller may use (or of `schema_name` only) that draws
// from a sequence, ordered by table, column, sequence; then, for callers who may sync
// series, each series compared with the columns that store its numbers, and the
// idempotency registry's job id sequence with its largest job id.
std::vector<DriftRow> check_drift(const std::optional<std::string>& schema_name);

// seqguard_sync_all(): moves every sequence behind its data forward, then the job id
// sequence and the counters of series stored in a column (re-creating the missing
// sequences of fast counters); raises one error (55000) listing what could not
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
