// Unit tests of the period rule, reset, and the calendar tokens {FY:M} {IYYY} {IY} {IW}
// {DDD}, at the boundaries where a counter restarts or an ID could repeat.
#include "seqguard/core/template.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using seqguard::core::Date;
using seqguard::core::date_from_unix_days;
using seqguard::core::day_of_year;
using seqguard::core::Error;
using seqguard::core::iso_week;
using seqguard::core::Period;
using seqguard::core::period_from_reset;
using seqguard::core::period_name;
using seqguard::core::Template;
using seqguard::core::unix_days_from_date;

// Templates without {seq} here are date tokens only: rendered with a trailing {seq} of 0
// that is cut off again.
std::string render(const std::string& tpl, Date at, int64_t value = 1) {
  if (tpl.find("{seq") != std::string::npos) return Template::parse(tpl).render(value, "", at);
  std::string out = Template::parse(tpl + "{seq}").render(0, "", at);
  out.pop_back();
  return out;
}

std::string key(const std::string& tpl, Date at) { return Template::parse(tpl).period_key(at); }

// --- the rule ---------------------------------------------------------------------------

TEST(PeriodRule, FinestUnitWhoseEnclosingUnitsArePrinted) {
  struct Case {
    const char* tpl;
    Period period;
    const char* key;  // at 2026-11-23 (a Monday, ISO week 48)
  };
  const Case cases[] = {
      {"{seq}", Period::none, ""},
      {"ASM-{YYYY}-{seq:3}", Period::year, "2026"},
      {"{YY}-{seq}", Period::year, "2026"},
      {"INV/{YYYY}/{MM}/{seq:4}", Period::month, "2026-11"},
      {"{MM}{YY}-{seq}", Period::month, "2026-11"},
      {"D{YYYY}{MM}{DD}-{seq}", Period::day, "2026-11-23"},
      {"{YYYY}{DDD}-{seq}", Period::day, "2026-11-23"},
      {"{YY}.{DDD}-{seq}", Period::day, "2026-11-23"},
      {"{FY:4}-{seq}", Period::fiscal_year, "FY2026-04"},
      {"{FY:12}-{seq}", Period::fiscal_year, "FY2025-12"},
      {"{FY:1}-{seq}", Period::year, "2026"},
      {"{FY:4}/{MM}-{seq}", Period::month, "2026-11"},
      {"{FY:4}/{MM}{DD}-{seq}", Period::day, "2026-11-23"},
      {"{IYYY}-{seq}", Period::iso_year, "ISO2026"},
      {"{IY}-{seq}", Period::iso_year, "ISO2026"},
      {"LOT{IYYY}W{IW}-{seq}", Period::week, "2026-W48"},
      {"{IY}{IW}-{seq}", Period::week, "2026-W48"},
      // Decoration: date tokens without their enclosing units never restart a counter.
      {"R-{MM}-{seq:3}", Period::none, ""},
      {"D{DD}-{seq}", Period::none, ""},
      {"SINV-{MM}-{seq:4}", Period::none, ""},
      {"{MM}{DD}-{seq}", Period::none, ""},
      {"{DDD}-{seq}", Period::none, ""},
      {"W{IW}-{seq}", Period::none, ""},
      {"{YYYY}{DD}-{seq}", Period::year, "2026"},
      {"{YYYY}-W{IW}-{seq}", Period::year, "2026"},
      {"{IYYY}-{MM}-{seq}", Period::iso_year, "ISO2026"},
      {"{IYYY}-{DDD}-{seq}", Period::iso_year, "ISO2026"},
      {"{FY:4}-{DDD}-{seq}", Period::fiscal_year, "FY2026-04"},
      {"{FY:4}-{DD}-{seq}", Period::fiscal_year, "FY2026-04"},
      // Several units printed: the finest identified one.
      {"{YYYY}{IYYY}{IW}-{seq}", Period::week, "2026-W48"},
      {"{YYYY}{MM}{IYYY}{IW}-{seq}", Period::week, "2026-W48"},
      {"{YYYY}{MM}{DD}{IYYY}{IW}-{seq}", Period::day, "2026-11-23"},
      {"{YYYY}{FY:4}-{seq}", Period::year, "2026"},
      {"{FY:4}{IYYY}-{seq}", Period::fiscal_year, "FY2026-04"},
  };
  for (const Case& c : cases) {
    const Template t = Template::parse(c.tpl);
    EXPECT_EQ(t.period(), c.period) << c.tpl;
    EXPECT_EQ(t.rule_period(), c.period) << c.tpl;
    EXPECT_EQ(t.period_key({2026, 11, 23}), c.key) << c.tpl;
  }
}

// The 1.0 duplicates: the same ID in two periods that 1.0 counted apart.
TEST(PeriodRule, DecorationNoLongerRestarts) {
  for (const char* tpl : {"R-{MM}-{seq:3}", "SINV-{MM}-{seq:4}"}) {
    EXPECT_EQ(key(tpl, {2026, 11, 5}), key(tpl, {2027, 11, 5})) << tpl;
    EXPECT_EQ(key(tpl, {2025, 1, 31}), key(tpl, {2026, 1, 1})) << tpl;
  }
  EXPECT_EQ(key("D{DD}-{seq}", {2026, 1, 5}), key("D{DD}-{seq}", {2026, 2, 5}));
  EXPECT_EQ(render("SINV-{MM}-{seq:4}", {2025, 1, 10}), "SINV-01-0001");
}

TEST(PeriodRule, YearBoundary) {
  EXPECT_EQ(key("{YYYY}-{seq}", {2025, 12, 31}), "2025");
  EXPECT_EQ(key("{YYYY}-{seq}", {2026, 1, 1}), "2026");
  EXPECT_EQ(key("{YYYY}{MM}-{seq}", {2025, 12, 31}), "2025-12");
  EXPECT_EQ(key("{YYYY}{MM}-{seq}", {2026, 1, 1}), "2026-01");
  EXPECT_EQ(key("{YYYY}{DDD}-{seq}", {2025, 12, 31}), "2025-12-31");
  EXPECT_EQ(key("{YYYY}{DDD}-{seq}", {2026, 1, 1}), "2026-01-01");
  // A fiscal year that does not start in January does not restart on 1 January.
  EXPECT_EQ(key("{FY:4}-{seq}", {2025, 12, 31}), key("{FY:4}-{seq}", {2026, 1, 1}));
  EXPECT_EQ(render("{FY:4}-{seq}", {2025, 12, 31}), "2025-2026-1");
  EXPECT_EQ(render("{FY:4}-{seq}", {2026, 1, 1}), "2025-2026-1");
  // ISO years restart on the Monday of week 1, not on 1 January.
  EXPECT_EQ(key("{IYYY}-{seq}", {2021, 1, 3}), "ISO2020");
  EXPECT_EQ(key("{IYYY}-{seq}", {2021, 1, 4}), "ISO2021");
  EXPECT_EQ(key("{IYYY}-{seq}", {2024, 12, 29}), "ISO2024");
  EXPECT_EQ(key("{IYYY}-{seq}", {2024, 12, 30}), "ISO2025");
}

// --- {FY:M} -----------------------------------------------------------------------------

TEST(FiscalYear, RendersStartAndEndYear) {
  EXPECT_EQ(render("{FY:4}", {2025, 3, 31}), "2024-2025");  // the example of docs/reference.md
  EXPECT_EQ(render("{FY:4}", {2025, 4, 1}), "2025-2026");
  EXPECT_EQ(render("{FY:1}", {2025, 3, 31}), "2025");
  EXPECT_EQ(render("{FY:1}", {2025, 1, 1}), "2025");
  EXPECT_EQ(render("{FY:1}", {2024, 12, 31}), "2024");
  EXPECT_EQ(render("{FY:12}", {2025, 11, 30}), "2024-2025");
  EXPECT_EQ(render("{FY:12}", {2025, 12, 1}), "2025-2026");
  EXPECT_EQ(render("{FY:7}", {1, 1, 1}), "0000-0001");
  EXPECT_EQ(render("{FY:7}", {9999, 12, 31}), "9999-10000");
  EXPECT_EQ(render("INV/{FY:4}/{seq:4}", {2025, 3, 31}, 12), "INV/2024-2025/0012");
}

TEST(FiscalYear, PeriodStartsOnTheFirstOfMonthM) {
  EXPECT_EQ(key("{FY:4}-{seq}", {2025, 3, 31}), "FY2024-04");
  EXPECT_EQ(key("{FY:4}-{seq}", {2025, 4, 1}), "FY2025-04");
  EXPECT_EQ(key("{FY:10}-{seq}", {2025, 9, 30}), "FY2024-10");
  EXPECT_EQ(key("{FY:10}-{seq}", {2025, 10, 1}), "FY2025-10");
  // With a leap day inside.
  EXPECT_EQ(key("{FY:3}-{seq}", {2024, 2, 29}), "FY2023-03");
  EXPECT_EQ(key("{FY:3}-{seq}", {2024, 3, 1}), "FY2024-03");
}

TEST(FiscalYear, BadTokens) {
  for (const char* tpl : {"{FY}-{seq}", "{FY:13}-{seq}", "{FY:0}-{seq}", "{FY:04}-{seq}", "{FY:}-{seq}",
                          "{FY:4}{FY:7}-{seq}", "{fy:4}-{seq}", "{FY:-1}-{seq}"}) {
    try {
      Template::parse(tpl);
      ADD_FAILURE() << tpl;
    } catch (const Error& e) {
      EXPECT_STREQ(e.sqlstate(), "22023") << tpl;
      EXPECT_NE(std::string(e.what()).find("at position"), std::string::npos) << e.what();
    }
  }
  try {
    Template::parse("A-{FY:13}-{seq}");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "invalid template \"A-{FY:13}-{seq}\": invalid month (must be 1 to 12) in token \"{FY:13}\" at position 3");
  }
  // The same start twice is fine.
  EXPECT_EQ(render("{FY:4}|{FY:4}-{seq}", {2025, 3, 31}), "2024-2025|2024-2025-1");
}

// --- ISO weeks ------------------------------------------------------------------------

TEST(IsoWeek, AsToCharSpellsThem) {
  // Values checked with PostgreSQL's to_char(d, 'IYYY-IY-IW').
  struct Case {
    Date d;
    const char* text;
  };
  const Case cases[] = {
      {{2020, 12, 31}, "2020-20-53"}, {{2021, 1, 1}, "2020-20-53"}, {{2021, 1, 3}, "2020-20-53"},
      {{2021, 1, 4}, "2021-21-01"},   {{2024, 12, 29}, "2024-24-52"}, {{2024, 12, 30}, "2025-25-01"},
      {{2026, 11, 23}, "2026-26-48"}, {{2015, 12, 31}, "2015-15-53"}, {{2016, 1, 3}, "2015-15-53"},
      {{2004, 12, 31}, "2004-04-53"}, {{2005, 1, 2}, "2004-04-53"},   {{2008, 12, 29}, "2009-09-01"},
      {{1, 1, 1}, "0001-01-01"},      {{9999, 12, 31}, "9999-99-52"}, {{2000, 1, 1}, "1999-99-52"},
  };
  for (const Case& c : cases) EXPECT_EQ(render("{IYYY}-{IY}-{IW}", c.d), c.text) << c.d.year << "-" << c.d.month << "-" << c.d.day;
  EXPECT_EQ(key("{IYYY}W{IW}-{seq}", {2021, 1, 1}), "2020-W53");
  EXPECT_EQ(key("{IYYY}W{IW}-{seq}", {2021, 1, 4}), "2021-W01");
}

// An independent count: ISO week 1 holds the year's first Thursday; weeks run Monday to
// Sunday. Walks 1970..2100 day by day.
TEST(IsoWeek, AgreesWithADayByDayWalk) {
  const int64_t first = unix_days_from_date({1970, 1, 5});  // a Monday, ISO 1970-W02
  int year = 1970, week = 2;
  int64_t mismatches = 0;
  for (int64_t n = first; n < unix_days_from_date({2100, 12, 31}); n += 7) {
    // The Thursday of this week decides the ISO year.
    const Date thursday = date_from_unix_days(n + 3);
    if (thursday.year != year) {
      year = thursday.year;
      week = 1;
    }
    for (int k = 0; k < 7; ++k) {
      const auto w = iso_week(date_from_unix_days(n + k));
      if (w.year != year || w.week != week) ++mismatches;
    }
    ++week;
  }
  EXPECT_EQ(mismatches, 0);
}

// --- {DDD} ------------------------------------------------------------------------------

TEST(DayOfYear, LeapYears) {
  EXPECT_EQ(render("{DDD}", {2024, 1, 1}), "001");
  EXPECT_EQ(render("{DDD}", {2024, 2, 29}), "060");
  EXPECT_EQ(render("{DDD}", {2024, 3, 1}), "061");
  EXPECT_EQ(render("{DDD}", {2023, 3, 1}), "060");
  EXPECT_EQ(render("{DDD}", {2024, 12, 31}), "366");
  EXPECT_EQ(render("{DDD}", {2023, 12, 31}), "365");
  EXPECT_EQ(render("{DDD}", {2000, 12, 31}), "366");
  EXPECT_EQ(render("{DDD}", {1900, 12, 31}), "365");
  for (int64_t n = unix_days_from_date({1999, 1, 1}); n <= unix_days_from_date({2004, 12, 31}); ++n) {
    const Date d = date_from_unix_days(n);
    EXPECT_EQ(day_of_year(d), n - unix_days_from_date({d.year, 1, 1}) + 1);
  }
}

// --- keys -------------------------------------------------------------------------------

TEST(PeriodKeys, SortInTimeOrderAndNeverCollideAcrossKinds) {
  const std::vector<std::string> tpls = {"{YYYY}-{seq}",       "{FY:4}-{seq}",      "{FY:1}-{seq}",
                                         "{IYYY}-{seq}",       "{YYYY}{MM}-{seq}",  "{IYYY}{IW}-{seq}",
                                         "{YYYY}{DDD}-{seq}",  "{FY:11}{MM}-{seq}", "{seq}"};
  std::map<std::string, Period> kind_of_key;
  for (const std::string& s : tpls) {
    const Template t = Template::parse(s);
    std::string prev;
    bool first = true;
    for (int64_t n = unix_days_from_date({1, 1, 1}); n <= unix_days_from_date({9999, 12, 31}); n += 5) {
      const std::string k = t.period_key(date_from_unix_days(n));
      if (!first && k != prev) {
        EXPECT_LT(prev, k) << s;
      }
      first = false;
      prev = k;
      auto [it, inserted] = kind_of_key.emplace(k, t.period());
      if (!inserted) {
        // {FY:1} is the calendar year: the same kind, the same keys.
        EXPECT_EQ(it->second, t.period()) << s << " key " << k;
      }
    }
  }
}

// --- reset ------------------------------------------------------------------------------

TEST(Reset, Names) {
  EXPECT_EQ(period_from_reset("never"), Period::none);
  EXPECT_EQ(period_from_reset("yearly"), Period::year);
  EXPECT_EQ(period_from_reset("fiscal"), Period::fiscal_year);
  EXPECT_EQ(period_from_reset("monthly"), Period::month);
  EXPECT_EQ(period_from_reset("weekly"), Period::week);
  EXPECT_EQ(period_from_reset("daily"), Period::day);
  for (const char* bad : {"", "Yearly", "hourly", "year", "never "}) {
    try {
      period_from_reset(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_STREQ(e.sqlstate(), "22023");
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
    }
  }
  EXPECT_STREQ(period_name(Period::fiscal_year), "fiscal_year");
  EXPECT_STREQ(period_name(Period::iso_year), "iso_year");
  EXPECT_STREQ(period_name(Period::week), "week");
}

TEST(Reset, CoarserPeriodsAreAccepted) {
  Template t = Template::parse("INV/{YYYY}/{MM}/{seq:4}");
  t.set_reset(Period::year);
  EXPECT_EQ(t.period(), Period::year);
  EXPECT_EQ(t.rule_period(), Period::month);
  EXPECT_EQ(t.period_key({2026, 11, 23}), "2026");
  EXPECT_EQ(t.period_key({2026, 1, 1}), "2026");
  const auto p = t.parse_id("INV/2026/11/0007");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->period_key, "2026");
  EXPECT_EQ(p->value, 7);

  struct Case {
    const char* tpl;
    const char* reset;
    const char* key;  // at 2026-11-23
  };
  const Case ok[] = {
      {"{YYYY}{MM}{DD}-{seq}", "never", ""},        {"{YYYY}{MM}{DD}-{seq}", "yearly", "2026"},
      {"{YYYY}{MM}{DD}-{seq}", "monthly", "2026-11"}, {"{YYYY}{MM}{DD}-{seq}", "weekly", "2026-W48"},
      {"{YYYY}{MM}{DD}-{seq}", "daily", "2026-11-23"}, {"{YYYY}{DDD}-{seq}", "monthly", "2026-11"},
      {"{FY:4}{MM}-{seq}", "fiscal", "FY2026-04"},  {"{FY:4}{MM}-{seq}", "yearly", "2026"},
      {"{FY:1}-{seq}", "fiscal", "FY2026-01"},       {"{IYYY}{IW}-{seq}", "never", ""},
      {"{YYYY}{IYYY}{IW}-{seq}", "yearly", "2026"},  {"{YYYY}-{seq}", "yearly", "2026"},
      {"{seq}", "never", ""},
  };
  for (const Case& c : ok) {
    Template u = Template::parse(c.tpl);
    u.set_reset(period_from_reset(c.reset));
    EXPECT_EQ(u.period_key({2026, 11, 23}), c.key) << c.tpl << " " << c.reset;
    // Every rendering parses back into its counter.
    for (int64_t n = unix_days_from_date({2024, 12, 20}); n < unix_days_from_date({2025, 1, 20}); ++n) {
      const Date d = date_from_unix_days(n);
      const auto back = u.parse_id(u.render(5, "", d));
      ASSERT_TRUE(back.has_value()) << c.tpl;
      EXPECT_EQ(back->period_key, u.period_key(d)) << c.tpl << " " << c.reset;
    }
  }
}

TEST(Reset, FinerThanThePrintedTokensIsRefusedNamingTheMissingToken) {
  struct Case {
    const char* tpl;
    const char* reset;
    const char* missing;
  };
  const Case bad[] = {
      {"R-{MM}-{seq:3}", "monthly", "{YYYY} or {YY}"},
      {"R-{MM}-{seq:3}", "yearly", "{YYYY} or {YY}"},
      {"{YYYY}-{seq}", "monthly", "{MM}"},
      {"{YYYY}-{seq}", "daily", "{DDD} (or {MM} and {DD})"},
      {"{YYYY}{MM}-{seq}", "daily", "{DD}"},
      {"{YYYY}{MM}-{seq}", "weekly", "{IYYY} or {IY}"},
      {"{IYYY}-{seq}", "weekly", "{IW}"},
      {"{IYYY}{IW}-{seq}", "yearly", "{YYYY} or {YY}"},
      {"{YYYY}-{seq}", "fiscal", "{FY:M}"},
      {"{FY:4}-{seq}", "yearly", "{YYYY} or {YY}"},
      {"{FY:4}-{seq}", "monthly", "{MM}"},
      {"{FY:4}{DDD}-{seq}", "daily", "{MM} and {DD}"},
      {"D{DD}-{seq}", "daily", "{YYYY} or {YY}"},
  };
  for (const Case& c : bad) {
    Template t = Template::parse(c.tpl);
    try {
      t.set_reset(period_from_reset(c.reset));
      ADD_FAILURE() << c.tpl << " " << c.reset;
    } catch (const Error& e) {
      EXPECT_STREQ(e.sqlstate(), "22023");
      EXPECT_NE(std::string(e.what()).find(std::string("does not print ") + c.missing), std::string::npos)
          << c.tpl << " " << c.reset << ": " << e.what();
    }
    EXPECT_EQ(t.period(), t.rule_period()) << "unchanged after the error: " << c.tpl;
  }
}

// --- parse_id ---------------------------------------------------------------------------

void expect_id(const std::string& tpl, const std::string& id, const std::string& key, int64_t value) {
  const auto p = Template::parse(tpl).parse_id(id);
  ASSERT_TRUE(p.has_value()) << tpl << " / " << id;
  EXPECT_EQ(p->period_key, key) << tpl << " / " << id;
  EXPECT_EQ(p->value, value) << tpl << " / " << id;
  EXPECT_EQ(Template::parse(tpl).render(p->value, p->scope, p->at), id) << tpl;
}

void expect_no_id(const std::string& tpl, const std::string& id) {
  EXPECT_FALSE(Template::parse(tpl).parse_id(id).has_value()) << tpl << " / " << id;
}

TEST(PeriodParseId, RecoversEveryIdentifiedPeriod) {
  expect_id("INV/{FY:4}/{seq:4}", "INV/2024-2025/0012", "FY2024-04", 12);
  expect_no_id("INV/{FY:4}/{seq:4}", "INV/2024-2026/0012");
  expect_no_id("INV/{FY:4}/{seq:4}", "INV/2024/0012");
  expect_id("INV/{FY:1}/{seq:4}", "INV/2024/0012", "2024", 12);
  expect_no_id("INV/{FY:1}/{seq:4}", "INV/2024-2025/0012");
  expect_id("{FY:7}-{seq}", "0000-0001-3", "FY0000-07", 3);
  expect_id("{FY:7}-{seq}", "9999-10000-3", "FY9999-07", 3);
  expect_id("{FY:4}/{MM}-{seq}", "2024-2025/03-1", "2025-03", 1);
  expect_id("{FY:4}/{MM}-{seq}", "2024-2025/04-1", "2024-04", 1);
  expect_id("{FY:4}/{MM}{DD}-{seq}", "2023-2024/0229-1", "2024-02-29", 1);
  expect_no_id("{FY:4}/{MM}{DD}-{seq}", "2024-2025/0229-1");
  expect_id("LOT{IYYY}W{IW}-{seq}", "LOT2020W53-9", "2020-W53", 9);
  expect_no_id("LOT{IYYY}W{IW}-{seq}", "LOT2021W53-9");  // 2021 has 52 weeks
  expect_no_id("LOT{IYYY}W{IW}-{seq}", "LOT2020W54-9");
  expect_no_id("LOT{IYYY}W{IW}-{seq}", "LOT2020W00-9");
  expect_id("{IY}{IW}-{seq}", "2053-1", "2020-W53", 1);
  expect_id("{IYYY}-{seq}", "2020-1", "ISO2020", 1);
  expect_id("{YYYY}{DDD}-{seq}", "2024366-1", "2024-12-31", 1);
  expect_id("{YYYY}{DDD}-{seq}", "2024060-1", "2024-02-29", 1);
  expect_id("{YYYY}{DDD}-{seq}", "2023060-1", "2023-03-01", 1);
  expect_no_id("{YYYY}{DDD}-{seq}", "2023366-1");
  expect_no_id("{YYYY}{DDD}-{seq}", "2024000-1");
  expect_no_id("{YYYY}{DDD}-{seq}", "2024367-1");
  expect_no_id("{YYYY}{DDD}-{seq}", "202460-1");
  // Tokens that must agree with each other.
  expect_id("{YYYY}{MM}{DD}/{DDD}-{seq}", "20241231/366-1", "2024-12-31", 1);
  expect_no_id("{YYYY}{MM}{DD}/{DDD}-{seq}", "20241231/365-1");
  expect_id("{YYYY}/{IYYY}-W{IW}-{seq}", "2021/2020-W53-1", "2020-W53", 1);
  expect_no_id("{YYYY}/{IYYY}-W{IW}-{seq}", "2022/2020-W53-1");
  expect_no_id("{YYYY}/{IYYY}-{seq}", "2020/2022-1");
  expect_id("{YYYY}/{IYYY}-{seq}", "2024/2025-1", "2024", 1);
  expect_id("{YYYY}{MM}/{FY:4}-{seq}", "202503/2024-2025-1", "2025-03", 1);
  expect_no_id("{YYYY}{MM}/{FY:4}-{seq}", "202504/2024-2025-1");
}

// Decoration is parsed (it must be a date that exists) but names no period.
TEST(PeriodParseId, DecorationParsesIntoTheOnePeriod) {
  expect_id("R-{MM}-{seq:3}", "R-11-001", "", 1);
  expect_no_id("R-{MM}-{seq:3}", "R-13-001");
  expect_id("D{DD}-{seq}", "D31-4", "", 4);
  expect_no_id("D{DD}-{seq}", "D32-4");
  expect_id("{MM}{DD}-{seq}", "0229-1", "", 1);
  expect_no_id("{MM}{DD}-{seq}", "0230-1");
  expect_id("{DDD}-{seq}", "366-1", "", 1);
  expect_no_id("{DDD}-{seq}", "367-1");
  expect_id("W{IW}-{seq}", "W53-1", "", 1);
  expect_id("{YYYY}{DD}-{seq}", "202623-1", "2026", 1);
  expect_no_id("{YYYY}{DD}-{seq}", "202632-1");
  expect_id("{YYYY}-W{IW}-{seq}", "2021-W53-1", "2021", 1);  // 1 to 3 January 2021
  expect_no_id("{YYYY}-W{IW}-{seq}", "2022-W53-1");
  expect_id("{IW}{MM}-{seq}", "5301-1", "", 1);
  expect_no_id("{IW}{MM}-{seq}", "5306-1");
  expect_id("{IYYY}-{MM}-{seq}", "2020-12-1", "ISO2020", 1);
}

// {YY} reads as 20YY; a 19YY date whose day and week 20YY does not have parses back
// too, as the nearest century that has it (found by the fuzzer).
TEST(PeriodParseId, TwoDigitYearsOfAnotherCentury) {
  const Template t = Template::parse("{YY}{DD}W{IW}-{seq}");
  const std::string id = t.render(1, "", {1900, 1, 1});  // a Monday, ISO week 1 of 1900
  EXPECT_EQ(id, "0001W01-1");
  const auto p = t.parse_id(id);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->period_key, "1900");
  EXPECT_EQ(t.render(1, "", p->at), id);
  expect_id("{YY}{DD}W{IW}-{seq}", "2601W01-1", "2026", 1);
  expect_no_id("{YY}{DD}W{IW}-{seq}", "2615W01-1");  // week 1 never holds a 15th
}

// --- seqguard 1.0's rule ------------------------------------------------------------------

TEST(Period10, FinestDateToken) {
  struct Case {
    const char* tpl;
    Period period;
  };
  const Case cases[] = {
      {"{seq}", Period::none},          {"{YYYY}-{seq}", Period::year},   {"R-{MM}-{seq:3}", Period::month},
      {"D{DD}-{seq}", Period::day},     {"{YYYY}{DD}-{seq}", Period::day}, {"{YY}{MM}-{seq}", Period::month},
  };
  for (const Case& c : cases) {
    Template t = Template::parse(c.tpl);
    t.use_1_0_period();
    EXPECT_EQ(t.period(), c.period) << c.tpl;
    EXPECT_FALSE(t.uses_1_1_tokens()) << c.tpl;
  }
  Template t = Template::parse("R-{MM}-{seq:3}");
  t.use_1_0_period();
  EXPECT_EQ(t.period_key({2026, 11, 5}), "2026-11");
  EXPECT_FALSE(t.parse_id("R-11-001").has_value());  // as in 1.0: no year, no counter
  for (const char* tpl : {"{FY:4}{seq}", "{IYYY}{seq}", "{IY}{seq}", "{IW}{seq}", "{DDD}{seq}"})
    EXPECT_TRUE(Template::parse(tpl).uses_1_1_tokens()) << tpl;
}

// --- exhaustive round trips over boundary dates ------------------------------------------

TEST(PeriodParseId, EveryDayAroundBoundariesRoundTrips) {
  const std::vector<std::string> tpls = {
      "{FY:4}-{seq}",     "{FY:4}{MM}{DD}-{seq}", "{IYYY}W{IW}-{seq}", "{IY}{IW}-{seq}", "{YYYY}{DDD}-{seq}",
      "{YY}{DDD}-{seq}",  "{DDD}-{seq}",          "W{IW}-{seq}",       "{MM}{DD}-{seq}", "{IYYY}{MM}{DD}-{seq}",
      "{FY:3}.{DDD}-{seq}", "{FY:12}{IW}-{seq}"};
  const std::vector<Date> centres = {{2020, 12, 31}, {2024, 2, 29}, {2025, 3, 31}, {2015, 12, 31}, {2000, 2, 29}};
  for (const std::string& s : tpls) {
    const Template t = Template::parse(s);
    for (const Date& c : centres) {
      const int64_t mid = unix_days_from_date(c);
      for (int64_t n = mid - 10; n <= mid + 10; ++n) {
        const Date d = date_from_unix_days(n);
        const std::string id = t.render(42, "", d);
        const auto back = t.parse_id(id);
        ASSERT_TRUE(back.has_value()) << s << " / " << id;
        EXPECT_EQ(back->value, 42);
        EXPECT_EQ(t.render(42, "", back->at), id);
        EXPECT_EQ(back->period_key, t.period_key(d)) << s << " / " << id;
      }
    }
  }
}

}  // namespace
