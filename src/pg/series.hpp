// Series and their counters (SPEC section 1): the PostgreSQL side of formatted IDs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
// Moves every (scope, period) counter of `series` past the largest ID of its template
// found in its target column; never backwards. With `dry_run`, only reports (NOTICE)
// what it would move. Returns the number of counters moved (or that would move).
int32_t sync_series(const std::string& series, bool dry_run = false);

// The scope, period and number of an ID that `series` could have issued, if it could.
std::optional<core::ParsedId> parse_series_id(const std::string& series, std::string_view id);

// Names of the series that have a target column (for seqguard_sync_all).
std::vector<std::string> series_with_target();

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
