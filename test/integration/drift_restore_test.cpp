// Drift discovery right after a restore: thousands of tables created at once in a new
// database whose catalogs still carry the planner statistics of an empty one (no
// ANALYZE yet, autovacuum off). Those statistics say pg_class holds no sequence; a
// discovery whose cost follows the planner's estimates then turns quadratic in the
// number of tables. check_drift must cost about what the loop people write by hand
// (information_schema + max() per column) costs, measured in the same test.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

using Clock = std::chrono::steady_clock;

// The hand-written check: one pg_get_serial_sequence() and one max() per serial or
// identity column found through information_schema.
constexpr const char* kLoopSql = R"SQL(
CREATE FUNCTION drift_loop() RETURNS TABLE (tbl text, col text, seq text, last_value bigint,
                                            column_max bigint, behind boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  called boolean;
BEGIN
  FOR r IN
    SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS cn
      FROM information_schema.columns c
      JOIN information_schema.tables tb
        ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
     WHERE tb.table_type = 'BASE TABLE'
       AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
       AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')
  LOOP
    tbl := format('%I.%I', r.s, r.t);
    col := r.cn;
    seq := pg_get_serial_sequence(tbl, r.cn);
    CONTINUE WHEN seq IS NULL;
    EXECUTE format('SELECT max(%I) FROM %s', r.cn, tbl) INTO column_max;
    EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last_value, called;
    IF NOT called THEN
      last_value := NULL;
    END IF;
    behind := column_max IS NOT NULL AND column_max >= coalesce(last_value + 1, 1);
    RETURN NEXT;
  END LOOP;
END
$$)SQL";

// autovacuum would analyze the new database's catalogs behind the test's back (and
// hide the state it is about); it is a server-wide setting, so it is off for this test
// only and restored afterwards, whatever happens.
class AutovacuumOff {
 public:
  AutovacuumOff() : admin_(Cluster::shared().connect("postgres")) {
    admin_.must("ALTER SYSTEM SET autovacuum = off");
    admin_.must("SELECT pg_reload_conf()");
  }
  ~AutovacuumOff() {
    admin_.exec("ALTER SYSTEM RESET autovacuum");
    admin_.exec("SELECT pg_reload_conf()");
  }

 private:
  Conn admin_;
};

TEST(DriftRestore, CheckDriftOnThousandsOfFreshTablesCostsWhatTheLoopCosts) {
  constexpr int kTables = 2000, kBatch = 500;
  AutovacuumOff autovacuum_off;
  std::string db = Cluster::shared().fresh_database("drift_restore");
  Conn c(db);
  // As pg_restore leaves them: rows written with explicit IDs, every sequence behind.
  for (int from = 1; from <= kTables; from += kBatch)
    c.must("DO $$ BEGIN FOR i IN " + std::to_string(from) + ".." + std::to_string(from + kBatch - 1) +
           " LOOP EXECUTE format('CREATE TABLE t_%s (id serial, v int)', i); "
           "EXECUTE format('INSERT INTO t_%s (id, v) VALUES (7, 0)', i); END LOOP; END $$");
  c.must(kLoopSql);

  // The state the test is about: the catalogs' statistics know of no sequence.
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_stats WHERE schemaname = 'pg_catalog' AND tablename = 'pg_class' "
                   "AND attname = 'relkind' AND most_common_vals::text::text[] @> ARRAY['S']")
                .int8(),
            0)
      << "the catalogs were analyzed: this test no longer measures a fresh restore";

  auto timed_ms = [&](const std::string& sql, int64_t expect_rows) {
    auto t0 = Clock::now();
    Result r = c.must(sql);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    EXPECT_EQ(r.int8(), expect_rows) << sql;
    return ms;
  };
  // Interleaved, best of three each: both read the same relcache entries.
  double check_ms = 1e18, loop_ms = 1e18;
  for (int run = 0; run < 3; run++) {
    check_ms = std::min(check_ms, timed_ms("SELECT count(*) FROM seqguard_check_drift() WHERE status = 'behind'",
                                           kTables));
    loop_ms = std::min(loop_ms, timed_ms("SELECT count(*) FROM drift_loop() WHERE behind", kTables));
  }
  double sync_ms = timed_ms("SELECT seqguard_sync_all()", kTables);
  std::cout << "[ restore  ] " << kTables << " fresh tables: check_drift " << check_ms << " ms, loop " << loop_ms
            << " ms (check/loop " << check_ms / loop_ms << "), sync_all " << sync_ms << " ms\n";
  EXPECT_LE(check_ms, 2 * loop_ms) << "discovery should cost what one pass over the catalogs costs";
  EXPECT_EQ(c.must("SELECT count(*) FROM seqguard_check_drift() WHERE status = 'ok'").int8(), kTables);
}

// A check reads a sequence and its column's extreme in one statement: a column named like
// a column of the sequence relation must still be read from the table.
TEST(DriftRestore, ColumnsNamedLikeTheSequencesColumnsAreReadFromTheTable) {
  Conn c(Cluster::shared().fresh_database("drift_names"));
  c.must("CREATE TABLE odd (last_value serial, is_called int)");
  c.must("INSERT INTO odd VALUES (40, 1)");
  c.must("CREATE SEQUENCE down INCREMENT -1");
  c.must("CREATE TABLE down_t (log_cnt bigint DEFAULT nextval('down'), last_value int)");
  c.must("INSERT INTO down_t VALUES (-50, 3)");
  Result r = c.must(
      "SELECT table_name::text, column_max, status FROM seqguard_check_drift() "
      "WHERE kind IN ('serial', 'identity') ORDER BY table_name::text");
  ASSERT_EQ(r.rows(), 2);
  EXPECT_EQ(r.text(0, 0), "down_t");
  EXPECT_EQ(r.int8(0, 1), -50);
  EXPECT_EQ(r.text(0, 2), "behind");
  EXPECT_EQ(r.text(1, 0), "odd");
  EXPECT_EQ(r.int8(1, 1), 40);
  EXPECT_EQ(r.text(1, 2), "behind");
  EXPECT_EQ(c.must("SELECT seqguard_sync_all()").int8(), 2);
  EXPECT_EQ(c.must("SELECT nextval('odd_last_value_seq')").int8(), 41);
  EXPECT_EQ(c.must("SELECT nextval('down')").int8(), -51);
}

}  // namespace
}  // namespace seqguard::test
