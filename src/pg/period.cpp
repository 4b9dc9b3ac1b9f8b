#include "seqguard/core/template.hpp"

#include "pg/period.hpp"

#include "pg/spi.hpp"

extern "C" {
#include "utils/datetime.h"
#include "utils/timestamp.h"
}

namespace seqguard::pg {

int32_t today_in(const pg_tz* tz) {
  // A bulk INSERT asks once per row: one transaction start, one zone, one answer, and
  // no PostgreSQL call (nor its error handling set-up) on the way.
  static TimestampTz cached_ts = 0;
  static const pg_tz* cached_tz = nullptr;
  static int32_t cached_date = 0;
  const pg_tz* zone = tz != nullptr ? tz : session_timezone;
  TimestampTz ts = GetCurrentTransactionStartTimestamp();
  if (ts == cached_ts && zone == cached_tz && zone != nullptr) return cached_date;
  int32_t date;
  if (tz == nullptr) {
    date = pg_call([] { return (int32_t)GetSQLCurrentDate(); });  // current_date itself
  } else {
    date = pg_call([&] {
      struct pg_tm tm;
      fsec_t fsec;
      int offset;
      if (timestamp2tm(ts, &offset, &tm, &fsec, nullptr, const_cast<pg_tz*>(tz)) != 0)
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
      return (int32_t)(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE);
    });
  }
  cached_ts = ts;
  cached_tz = zone;
  cached_date = date;
  return date;
}

std::string canonical_time_zone(std::string_view name) {
  auto bad = [&]() {
    fail(core::sqlstate::invalid_parameter_value, "invalid value for parameter \"time_zone\": \"" + std::string(name) + "\"",
         "A series' time zone is an IANA name that PostgreSQL knows, as listed in pg_timezone_names.",
         "Use a name such as 'Europe/Paris', 'Asia/Tokyo' or 'UTC'.");
  };
  if (name.empty() || name.size() >= TZ_STRLEN_MAX || name.find('\0') != std::string_view::npos) bad();
  std::string copy(name);
  pg_tz* tz = pg_call([&] { return pg_tzset(copy.c_str()); });
  if (tz == nullptr || !pg_call([&] { return pg_tz_acceptable(tz); })) bad();
  std::string canonical = pg_get_timezone_name(tz);
  // pg_tzset also accepts POSIX TZ strings ("FOO+3") that name no zone: only what the
  // zone database lists is an IANA name.
  Spi spi;
  if (spi.execute("SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name OPERATOR(pg_catalog.=) $1",
                  {Param::text(canonical)}) == 0)
    bad();
  return canonical;
}

pg_tz* load_time_zone(const std::string& name) {
  pg_tz* tz = pg_call([&] { return pg_tzset(name.c_str()); });
  if (tz == nullptr)
    fail(core::sqlstate::object_not_in_prerequisite_state,
         "time zone \"" + name + "\" of a series is no longer known to PostgreSQL");
  return tz;
}

std::string period_key_1_1(const std::string& format, const std::string& key_1_0) {
  core::Template tpl = core::Template::parse(format);
  core::Date d{1, 1, 1};
  auto digits = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = pos; i < pos + n; i++) {
      if (i >= key_1_0.size() || key_1_0[i] < '0' || key_1_0[i] > '9') return -1;
      v = v * 10 + (key_1_0[i] - '0');
    }
    return v;
  };
  // 1.0 keyed by the finest of {YYYY} {YY} {MM} {DD}; 1.1 by the same or a coarser unit
  // (the enclosing units are missing), so the date of the first day of the 1.0 period
  // falls in the 1.1 period of all of it.
  const size_t len = key_1_0.size();
  const bool well_formed = len == 0 || (len == 4 && digits(0, 4) >= 1) ||
                           (len == 7 && key_1_0[4] == '-' && digits(0, 4) >= 1 && digits(5, 2) >= 1 &&
                            digits(5, 2) <= 12) ||
                           (len == 10 && key_1_0[4] == '-' && key_1_0[7] == '-' && digits(0, 4) >= 1 &&
                            digits(5, 2) >= 1 && digits(5, 2) <= 12 && digits(8, 2) >= 1 && digits(8, 2) <= 31);
  if (!well_formed) fail(core::sqlstate::internal_error, "unexpected seqguard 1.0 counter period \"" + key_1_0 + "\"");
  if (len == 0) return tpl.period() == core::Period::none ? std::string() : key_1_0;
  d.year = digits(0, 4);
  if (len >= 7) d.month = digits(5, 2);
  if (len == 10) d.day = digits(8, 2);
  return tpl.period_key(d);
}

}  // namespace seqguard::pg
