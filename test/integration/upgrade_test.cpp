// A database made by seqguard 1.0, with the 1.1 library installed, then updated in place:
// series whose template 1.1 keys by a coarser period (R-{MM}-{seq:3} was counted per
// month, and printed R-10-001 again every October) keep their counters and never issue
// an ID they issued under 1.0.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

std::string id(Conn& c, const std::string& series, const std::string& scope, const std::string& at) {
  return c.must("SELECT next_formatted_id('" + series + "', '" + scope + "', '" + at + "')").text();
}

std::string counters(Conn& c, const std::string& series) {
  Result r = c.must(
      "SELECT string_agg(format('%s|%s|%s', scope, period, last_value), ' ' ORDER BY scope, period) "
      "FROM seqguard_counters WHERE series = '" + series + "'");
  return r.text();
}

TEST(Upgrade, PeriodsOf10SeriesAreMergedWithoutRepeatingAnId) {
  std::string db = Cluster::shared().fresh_database("upgrade_periods");
  Conn c(db);
  c.must("DROP EXTENSION seqguard CASCADE");
  c.must("CREATE EXTENSION seqguard VERSION '1.0'");
  ASSERT_EQ(c.must("SELECT extversion FROM pg_extension WHERE extname = 'seqguard'").text(), "1.0");

  // Until the update, the 1.1 library keeps 1.0's periods: the counters stay per month.
  c.must("SELECT seqguard_create_series('R', 'R-{MM}-{seq:3}')");
  c.must("SELECT seqguard_create_series('RF', 'RF-{MM}-{seq:3}', gapless => false)");
  c.must("SELECT seqguard_create_series('D', 'D{YYYY}.{DD}-{seq}')");
  c.must("SELECT seqguard_create_series('Y', 'Y{YYYY}-{seq}')");
  // A template 1.0 cannot key is refused until the update, not counted by the 1.0 rule.
  Result refused = c.exec("SELECT seqguard_create_series('W', 'W{IYYY}{IW}-{seq}')");
  EXPECT_EQ(refused.sqlstate(), "0A000") << refused.error();

  std::set<std::string> issued;
  auto draw = [&](Conn& conn, const std::string& series, const std::string& scope, const std::string& at) {
    std::string v = id(conn, series, scope, at);
    EXPECT_TRUE(issued.insert(series + "/" + scope + "/" + v).second) << "repeated " << series << " " << v;
    return v;
  };
  for (const char* series : {"R", "RF"}) {
    for (int i = 0; i < 3; i++) draw(c, series, "A", "2026-10-15");
    for (int i = 0; i < 5; i++) draw(c, series, "A", "2026-11-15");
    draw(c, series, "B", "2026-10-15");
    for (int i = 0; i < 2; i++) draw(c, series, "B", "2026-11-15");
  }
  for (int i = 0; i < 2; i++) draw(c, "D", "", "2026-11-05");
  draw(c, "D", "", "2026-12-06");
  draw(c, "Y", "", "2026-12-05");
  EXPECT_EQ(counters(c, "R"), "A|2026-10|3 A|2026-11|5 B|2026-10|1 B|2026-11|2");
  EXPECT_EQ(counters(c, "RF"), "A|2026-10|3 A|2026-11|5 B|2026-10|1 B|2026-11|2");
  EXPECT_EQ(counters(c, "D"), "|2026-11-05|2 |2026-12-06|1");
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relnamespace = 'seqguard'::regnamespace "
                   "AND relname LIKE 'counter\\_%'")
                .int8(),
            4);

  // A session that allocated before the update and stays connected through it.
  Conn old_session(db);
  EXPECT_EQ(id(old_session, "Y", "", "2026-12-06"), "Y2026-2");

  c.must("ALTER EXTENSION seqguard UPDATE");
  ASSERT_EQ(c.must("SELECT extversion FROM pg_extension WHERE extname = 'seqguard'").text(), "1.1");

  // One counter per scope, at the largest number 1.0 issued in any month.
  EXPECT_EQ(counters(c, "R"), "A||5 B||2");
  EXPECT_EQ(counters(c, "RF"), "A||5 B||2");
  EXPECT_EQ(counters(c, "D"), "|2026|2");
  EXPECT_EQ(counters(c, "Y"), "|2026|2");
  // The fast counters' other sequences are gone; one per counter is left.
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relnamespace = 'seqguard'::regnamespace "
                   "AND relname LIKE 'counter\\_%'")
                .int8(),
            2);

  // Gapless numbering goes on from the largest; no ID of 1.0 comes again, not even in
  // October of the next year.
  EXPECT_EQ(draw(c, "R", "A", "2026-12-01"), "R-12-006");
  EXPECT_EQ(draw(c, "R", "A", "2027-10-15"), "R-10-007");
  EXPECT_EQ(draw(c, "R", "B", "2027-10-15"), "R-10-003");
  EXPECT_EQ(draw(old_session, "R", "A", "2027-11-15"), "R-11-008");
  EXPECT_EQ(draw(c, "D", "", "2026-11-05"), "D2026.05-3");
  EXPECT_EQ(draw(c, "Y", "", "2026-12-07"), "Y2026-3");
  // Fast: past the largest, whichever session asks.
  for (int i = 0; i < 3; i++) {
    draw(c, "RF", "A", "2027-10-15");
    draw(old_session, "RF", "A", "2027-11-15");
    draw(old_session, "RF", "B", "2027-10-15");
  }
  EXPECT_EQ(draw(c, "RF", "A", "2027-10-15"), "RF-10-012");
  EXPECT_EQ(draw(c, "RF", "B", "2027-11-15"), "RF-11-006");

  // The updated database is a 1.1 one: new tokens and options work.
  c.must("SELECT seqguard_create_series('W', 'W{IYYY}{IW}-{seq}', reset => 'never', time_zone => 'UTC')");
  EXPECT_EQ(id(c, "W", "", "2021-01-01"), "W202053-1");
}

// The update from a 1.0 database with nothing in it, and the definitions it changes.
TEST(Upgrade, EmptyDatabaseGetsThe11Signatures) {
  std::string db = Cluster::shared().fresh_database("upgrade_empty");
  Conn c(db);
  c.must("DROP EXTENSION seqguard CASCADE");
  c.must("CREATE EXTENSION seqguard VERSION '1.0'");
  c.must("ALTER EXTENSION seqguard UPDATE");
  EXPECT_EQ(c.must("SELECT pg_get_function_arguments('next_formatted_id(text,text,date)'::regprocedure)").text(),
            "series text, scope text DEFAULT ''::text, at date DEFAULT 'infinity'::date");
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_proc WHERE proname = 'seqguard_create_series'").int8(), 1);
  EXPECT_EQ(c.must("SELECT has_function_privilege('public', 'seqguard_create_series(text,text,boolean,bigint,"
                   "integer,text,regclass,name,text,text,boolean)', 'EXECUTE')")
                .text(),
            "f");
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_proc WHERE proname = 'period_key_1_1'").int8(), 0);
}

}  // namespace
}  // namespace seqguard::test
