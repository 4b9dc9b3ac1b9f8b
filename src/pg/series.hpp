// Series and their counters (SPEC section 1): the PostgreSQL side of formatted IDs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seqguard/core/template.hpp"
#include "pg/bridge.hpp"

namespace seqguard::pg {

// Registers the transaction callbacks that write gapless counters before commit and
// undo them on (sub)transaction abort. Called from _PG_init.
void register_series_callbacks();

struct SeriesOptions {
  std::string name;
  std::string format;
  bool gapless;
  int64_t start_value;
  int32_t increment;
  std::string on_overflow;
  Oid target_table;           // InvalidOid when none
  std::optional<std::string> target_column;
  std::optional<std::string> reset;      // NULL: the period the template's tokens give
  std::optional<std::string> time_zone;  // NULL: the session's TimeZone at each call
  bool if_not_exists = false;
};

void create_series(const SeriesOptions& opts);

// seqguard_alter_series: every option not given (nullopt) is kept.
struct AlterOptions {
  std::string name;
  std::optional<bool> gapless;
  std::optional<int32_t> increment;
  std::optional<std::string> on_overflow, format, reset, time_zone;
  std::optional<Oid> target_table;
  std::optional<std::string> target_column;
};
// Changes a series' definition; every counter keeps its position. Waits for the
// transactions that allocate from the series.
void alter_series(const AlterOptions& opts);
// Gives the number `id` back when it is the last its counter issued (gapless only).
bool revert_if_last(const std::string& series, std::string_view id);
void drop_series(const std::string& name);
// Grants or revokes the right to allocate from `series` (role "public": everyone).
void set_allocate(const std::string& series, const std::string& role, bool grant);

// Allocation. `at` is a PostgreSQL DateADT (days since 2000-01-01).
int64_t next_value(std::string_view series, std::string_view scope, int32_t at, std::string* rendered);
std::optional<int64_t> current_value(std::string_view series, std::string_view scope, int32_t at);
std::string peek(std::string_view series, std::string_view scope, int32_t at);
int64_t set_value(std::string_view series, int64_t value, std::string_view scope, int32_t at);
// A column that stores what a series issues: its target column, a column late-bound to
// it (seqguard_attach), or a column whose DEFAULT calls next_formatted_id('series') or
// seqguard_nextval('series', 'scope'). Those are the places a sync can learn from which
// numbers were issued when the counters themselves cannot tell (after a restore of data
// only, or a logical-replication cutover, which copies no sequence).
struct SeriesColumn {
  Oid table;
  std::string column;
  const char* source;  // "target", "attached", "default": for messages
  // Holds the number, not the formatted ID: the scope then comes from scope_column (a
  // late-bound column's), else it is scope_value; the period cannot be read back.
  bool number = false;
  std::string scope_column;
  std::string scope_value;
};
// Every column of every series, by series name. Read from the catalogs and seqguard's
// tables; a partition or inheritance child is covered by its ancestor's column.
std::map<std::string, std::vector<SeriesColumn>> series_columns();

// One counter of a series compared with its columns (seqguard_check_drift).
struct CounterDrift {
  std::string scope, period;
  const SeriesColumn* column = nullptr;  // where column_max was found
  std::optional<int64_t> column_max;     // the largest number found for this counter
  std::optional<int64_t> last_value;     // the counter's last issued number, if known
  std::optional<int64_t> next_value;     // what the next draw returns (none: missing sequence)
  std::optional<std::string> sequence;   // fast: the counter's sequence
  bool sequence_missing = false;         // fast: the counter row names a sequence that does not exist
  bool behind = false;                   // the next draw would return a number already stored
  int64_t lag = 0;                       // how many draws would
};
struct SeriesDrift {
  bool gapless;
  std::vector<CounterDrift> counters;  // those found in the columns or with a missing sequence
  // Why the caller cannot compare the series with its columns (no SELECT, row-level
  // security), when it cannot.
  std::optional<std::string> unreadable;
  // Columns that were not read: numbers of a series whose counters restart per period
  // (a bare number does not say which period it belongs to).
  std::vector<size_t> unread;
};
// Why the caller cannot read the columns (no SELECT, row-level security), or nullopt.
std::optional<std::string> columns_unreadable(const std::vector<SeriesColumn>& columns);
// Reads, changes nothing, takes no counter lock.
SeriesDrift series_drift(const std::string& series, const std::vector<SeriesColumn>& columns);

// Moves every (scope, period) counter of `series` past the largest number found in
// `columns`, never backwards, and re-creates a fast counter's missing sequence first.
// With `dry_run`, only reports (NOTICE) what it would do. Returns the number of counters
// moved or created (or that would be).
int32_t sync_series(const std::string& series, const std::vector<SeriesColumn>& columns, bool dry_run = false);
// seqguard_sync_series(): the same over every column of the series; 55000 when it has
// none.
int32_t sync_series(const std::string& series, bool dry_run = false);
// Names of the series with a fast counter whose sequence does not exist.
std::vector<std::string> series_missing_sequences();

// The scope, period and number of an ID that `series` could have issued, if it could.
std::optional<core::ParsedId> parse_series_id(const std::string& series, std::string_view id);


core::Date to_core_date(int32_t pg_date);

// For seqguard_waits, which names the counter or series a waiting session waits for by
// computing these keys for the candidates it knows and comparing them with pg_locks
// (classid and objid are the high and low halves). They are the keys lock_object() is
// given for a series and for one of its counters: the two must never diverge.
int64_t series_lock_key(std::string_view series);
int64_t counter_lock_key(std::string_view series, std::string_view scope, std::string_view period);
// The period key a counter of a series with template `format` and reset rule `reset`
// (nullopt: the template's) has on date `at`.
std::string period_key_at(std::string_view format, const std::optional<std::string>& reset, int32_t at);

// Main function of the background worker that creates new fast counters in a
// transaction of its own (see create_counter_in_worker in series.cpp).
void counter_worker_main(Datum arg);

}  // namespace seqguard::pg
