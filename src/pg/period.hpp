// Calendar facts a series needs from PostgreSQL: time zones and today's date in them.
#pragma once

#include <string>
#include <string_view>

#include "pg/bridge.hpp"

extern "C" {
#include "pgtime.h"
}

namespace seqguard::pg {

// The `at` the allocation functions default to: 'infinity', which no series accepts as
// a date (seqguard needs a finite one), so that it can stand for "not passed" and an
// explicit date, even today's, is taken as given.
inline bool at_not_passed(int32_t at) { return DATE_IS_NOEND(at); }

// Today as `current_date` would say it, in `tz` (nullptr: the session's TimeZone), at
// the start of the transaction like current_date.
int32_t today_in(const pg_tz* tz);

// Validates a time zone name: an IANA zone that PostgreSQL knows (not a POSIX TZ string,
// an abbreviation or a leap-second zone). Returns PostgreSQL's spelling of it. Throws
// 22023 naming the value otherwise.
std::string canonical_time_zone(std::string_view name);

// The zone a stored, validated name stands for.
pg_tz* load_time_zone(const std::string& name);

// For the update from 1.0: the 1.1 period key of the counter that 1.0 kept under
// `key_1_0` ("", "2026", "2026-11" or "2026-11-23") for a series of template `format`.
// Several 1.0 counters can map to one key (R-{MM}-{seq:3}: every month to ""); the
// update script merges them.
std::string period_key_1_1(const std::string& format, const std::string& key_1_0);

}  // namespace seqguard::pg
