// Hardening that needs more than one database or server: syncs on a hot standby (read
// only by recovery, not by a setting), and triggers installed by seqguard 1.0 on user
// tables, which keep working, hardened, before and after ALTER EXTENSION UPDATE (they
// call the extension's C functions, so the library fixes them).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

using namespace std::chrono_literals;

// Offsets from the shared cluster's port that no other test of this binary uses.
constexpr int kPrimaryPortOffset = 11;
constexpr int kStandbyPortOffset = 12;

TEST(Hardening, SyncOnAHotStandbyRaisesReadOnlyLikeEveryWriterAndDryRunWorks) {
  int base = Cluster::shared().port();
  std::unique_ptr<Cluster> primary = Cluster::create(base + kPrimaryPortOffset);
  {
    Conn p(primary->conninfo());
    // A sequence behind its table, a gapless series and a fast series behind their
    // target columns (the fast one has drawn once, so its counter's sequence exists:
    // moving it is what took a lock the standby refuses).
    p.must("CREATE TABLE behind (id serial PRIMARY KEY)");
    p.must("INSERT INTO behind VALUES (1), (2), (3)");
    p.must("CREATE TABLE docs (ref text, fast_ref text)");
    p.must("SELECT seqguard_create_series('HS', 'HS-{seq:3}', target_table => 'docs', target_column => 'ref')");
    p.must("SELECT seqguard_create_series('HSF', 'F-{seq:3}', gapless => false, target_table => 'docs', "
           "target_column => 'fast_ref')");
    p.must("SELECT next_formatted_id('HSF')");
    p.must("INSERT INTO docs VALUES ('HS-007', 'F-009')");
  }
  std::unique_ptr<Cluster> standby = primary->create_standby(base + kStandbyPortOffset);
  ASSERT_TRUE(standby->wait_ready(60, "seqguard_it"));
  Conn s(standby->conninfo());
  ASSERT_EQ(s.must("SELECT pg_is_in_recovery()").text(), "t");
  ASSERT_EQ(s.must("SELECT count(*) FROM docs").text(), "1") << "the standby lacks the primary's rows";

  for (const char* sql : {"SELECT seqguard_sync_all()", "SELECT seqguard_sync_all(schema_name => 'public')",
                          "SELECT seqguard_sync('behind')", "SELECT seqguard_sync_series('HS')",
                          "SELECT seqguard_sync_series('HSF')"}) {
    Result r = s.exec(sql);
    EXPECT_EQ(r.sqlstate(), "25006") << sql << ": " << r.error();
  }
  // A dry run changes nothing, so a standby may answer it: the sequence and both series.
  Result dry = s.exec("SELECT seqguard_sync_all(dry_run => true)");
  ASSERT_TRUE(dry.ok()) << dry.error();
  EXPECT_EQ(dry.int8(), 3);
  EXPECT_EQ(s.must("SELECT status FROM seqguard_check_drift() WHERE table_name = 'behind'::regclass").text(),
            "behind");

  // The primary, which takes writes, syncs them all.
  Conn p(primary->conninfo());
  EXPECT_EQ(p.must("SELECT seqguard_sync_all()").int8(), 3);
  EXPECT_EQ(p.must("SELECT next_formatted_id('HS')").text(), "HS-008");
  EXPECT_EQ(p.must("SELECT next_formatted_id('HSF')").text(), "F-010");
}

// A 1.0 installation: the protect and late-bound triggers as 1.0 created them (the
// late-bound one under 1.0's clipped name). With this library loaded they are hardened
// at once, and stay so after the update to 1.1.
TEST(Hardening, TriggersMadeBy10AreHardenedBeforeAndAfterTheUpdate) {
  std::string db = Cluster::shared().fresh_database("hardening_upgrade");
  Conn c(db);
  c.must("DROP EXTENSION seqguard");
  c.must("CREATE EXTENSION seqguard VERSION '1.0'");
  c.must("DROP ROLE IF EXISTS regress_up_attacker");
  c.must("CREATE ROLE regress_up_attacker");
  const std::string a60(60, 'a');
  const std::string one = a60 + "one", two = a60 + "two";
  c.must("CREATE SEQUENCE int_seq AS integer");
  c.must("CREATE TABLE accounts (id bigint PRIMARY KEY DEFAULT nextval('int_seq'))");
  c.must("SELECT seqguard_protect('accounts')");
  c.must("SELECT seqguard_create_series('UP', 'UP-{seq:3}')");
  c.must("CREATE TABLE ledger (" + one + " text, " + two + " text, note text)");
  // What 1.0's seqguard_attach created (this library names new triggers differently).
  c.must("CREATE CONSTRAINT TRIGGER seqguard_late_" + a60.substr(0, 49) +
         " AFTER INSERT ON ledger DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
         "EXECUTE FUNCTION seqguard.late_bind('UP', '" + one + "', '')");
  c.must("GRANT INSERT ON accounts, ledger TO regress_up_attacker");
  c.must("CREATE SCHEMA mal AUTHORIZATION regress_up_attacker");
  c.must("SET ROLE regress_up_attacker");
  c.must("CREATE TABLE mal.calls (fn text, by_user name)");
  c.must("GRANT INSERT ON mal.calls TO PUBLIC");
  c.must("CREATE FUNCTION mal.max(bigint) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
         "INSERT INTO mal.calls VALUES ('max', current_user); "
         "BEGIN EXECUTE 'ALTER ROLE regress_up_attacker SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END; "
         "RETURN $1; END $$");
  c.must("RESET ROLE");

  // Series need the update (the 1.1 library reads 1.1's tables): the late-bound trigger
  // is exercised after it, the protect trigger before and after.
  auto attack = [&](int64_t low, int64_t high, bool late) {
    c.must("SET ROLE regress_up_attacker");
    c.must("SET search_path = mal, pg_catalog");
    c.must("INSERT INTO public.accounts VALUES (" + std::to_string(low) + "), (" + std::to_string(high) + ")");
    if (late) c.must("INSERT INTO public.ledger (note) VALUES ('" + std::to_string(low) + "')");
    c.must("RESET search_path");
    c.must("RESET ROLE");
    EXPECT_EQ(c.must("SELECT count(*) FROM mal.calls").text(), "0") << "planted max() ran";
    EXPECT_EQ(c.must("SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_up_attacker'").text(), "f");
    // The attacker may not setval int_seq: the 1.0 trigger leaves it alone now.
    EXPECT_EQ(c.must("SELECT is_called FROM int_seq").text(), "f");
    if (late) {
      EXPECT_FALSE(c.must("SELECT " + one + " FROM ledger WHERE note = '" + std::to_string(low) + "'").is_null(0, 0));
    }
  };
  attack(1, 3000000000LL, false);
  c.must("ALTER EXTENSION seqguard UPDATE");
  EXPECT_EQ(c.must("SELECT extversion FROM pg_extension WHERE extname = 'seqguard'").text(), "1.1");
  attack(5, 4000000000LL, true);

  // The second long name gets a name of its own next to the 1.0 trigger, and the 1.0
  // trigger is detached by what it is.
  c.must("SELECT seqguard_attach('ledger', '" + two + "', 'UP')");
  c.must("INSERT INTO ledger (note) VALUES ('both')");
  Result both = c.must("SELECT " + one + ", " + two + " FROM ledger WHERE note = 'both'");
  EXPECT_FALSE(both.is_null(0, 0));
  EXPECT_FALSE(both.is_null(0, 1));
  c.must("SELECT seqguard_detach('ledger', '" + one + "')");
  c.must("SELECT seqguard_detach('ledger', '" + two + "')");
  EXPECT_EQ(c.must("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ledger'::regclass").text(), "0");

  c.must("DROP SCHEMA mal CASCADE");
  c.must("DROP OWNED BY regress_up_attacker");
  c.must("DROP ROLE regress_up_attacker");
}

}  // namespace
}  // namespace seqguard::test
