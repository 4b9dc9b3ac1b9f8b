// A logical-replication cutover to a new server, done the way docs/cutover.md says, for
// both ways people replicate:
//   1. seqguard's tables are published with the application's (FOR ALL TABLES), and
//      the subscriber ran the same set-up script first;
//   2. only the application's tables are published; the subscriber's schema comes from
//      pg_dump --schema-only and its series from seqguard_series_script().
// Each way: a load on the publisher before and while the subscription streams, writes
// stopped, the subscriber caught up, the subscription dropped, the documented steps on
// the new primary (one seqguard_sync_all() and the old primary's series script, which
// carries what no column records), then a load on the new primary.
// What must hold: no error at all (a reissued ID is a 23505), gapless and late-bound
// numbers exactly 1..N across the cutover, fast IDs, serial and identity values unique,
// idempotency job ids never handed out twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

using namespace std::chrono_literals;

// Ports beside the shared cluster's, apart from other tests' extra clusters.
constexpr int kPublisherPortOffset = 31;
constexpr int kSubscriberPortOffset = 32;

// The application: a gapless series as a column DEFAULT (identity key), a fast series
// with a scope per row (serial key), a late-bound series (bigserial key), and the job
// ids of idempotency keys the application records.
const char* const kAppTables[] = {
    "CREATE TABLE invoices (pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "id text NOT NULL UNIQUE DEFAULT next_formatted_id('INV'), worker int NOT NULL)",
    "CREATE TABLE tracks (pk serial PRIMARY KEY, id text NOT NULL UNIQUE, region text NOT NULL, "
    "worker int NOT NULL)",
    "CREATE TABLE orders (pk bigserial PRIMARY KEY, id text UNIQUE, worker int NOT NULL)",
    "CREATE TABLE jobs (job_id bigint PRIMARY KEY, key text NOT NULL UNIQUE)",
};
const char* const kAppSeries[] = {
    "SELECT seqguard_create_series('INV', 'INV-{seq:6}')",
    "SELECT seqguard_create_series('TRK', 'TRK-{scope}-{seq:8}', gapless => false, "
    "target_table => 'tracks', target_column => 'id')",
    "SELECT seqguard_create_series('ORD', 'ORD-{seq:6}')",
    "SELECT seqguard_attach('orders', 'id', 'ORD')",
    // Request IDs the application sends elsewhere and stores in no column: no sync can
    // find their position, seqguard_series_script() carries it.
    "SELECT seqguard_create_series('REQ', 'REQ-{seq:8}', gapless => false)",
};

// The application's set-up script, as both sides of way 1 run it.
void setup_application(Conn& c) {
  for (const char* sql : kAppTables) c.must(sql);
  for (const char* sql : kAppSeries) c.must(sql);
}

struct LoadResult {
  int64_t commits = 0;
  int64_t failures = 0;
  std::string first_failure;  // SQLSTATE and message of the first failed statement
};

// `sessions` sessions each run `transactions` transactions: an invoice, a track in one
// of `regions`, an order, a request ID, and an idempotency key whose job id goes into
// jobs; one in five rolls back. Keys are unique per phase, so every key starts a new job.
LoadResult run_load(const std::string& conninfo, const std::string& phase, int sessions, int transactions,
                    const std::vector<std::string>& regions) {
  LoadResult out;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int w = 0; w < sessions; w++) {
    threads.emplace_back([&, w] {
      Conn c(conninfo);
      std::mt19937 rng(w * 7919 + (int)phase.size());
      int64_t commits = 0, failures = 0;
      std::string first;
      for (int i = 0; i < transactions; i++) {
        const std::string key = phase + "-" + std::to_string(w) + "-" + std::to_string(i);
        const std::string& region = regions[rng() % regions.size()];
        const std::string ws = std::to_string(w);
        bool ok = c.exec("BEGIN").ok();
        auto step = [&](const std::string& sql, const std::vector<std::optional<std::string>>& params) {
          if (!ok) return;
          Result r = c.exec(sql, params);
          if (!r.ok()) {
            ok = false;
            if (first.empty()) first = r.sqlstate() + " " + r.error();
          }
        };
        step("INSERT INTO invoices (worker) VALUES ($1::int)", {ws});
        step("INSERT INTO tracks (id, region, worker) VALUES (next_formatted_id('TRK', $1), $1, $2::int)",
             {region, ws});
        step("INSERT INTO orders (worker) VALUES ($1::int)", {ws});
        step("SELECT next_formatted_id('REQ')", {});
        step("INSERT INTO jobs (job_id, key) SELECT job_id, $1 FROM seqguard_idem_begin($1)", {key});
        step("SELECT seqguard_idem_complete($1, (SELECT job_id FROM jobs WHERE key = $1), '{\"ok\": true}')",
             {key});
        if (!ok) {
          failures++;
          c.exec("ROLLBACK");
        } else if (rng() % 5 == 0) {
          c.exec("ROLLBACK");
        } else {
          Result r = c.exec("COMMIT");  // the late-bound number is drawn here
          if (r.ok()) {
            commits++;
          } else {
            failures++;
            if (first.empty()) first = r.sqlstate() + " " + r.error();
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      out.commits += commits;
      out.failures += failures;
      if (out.first_failure.empty()) out.first_failure = first;
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

bool wait_for(Conn& c, const std::string& sql, const std::vector<std::optional<std::string>>& params,
              int seconds) {
  for (int i = 0; i < seconds * 10; i++) {
    Result r = c.exec(sql, params);
    if (r.ok() && r.rows() == 1 && r.text() == "t") return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Every table of the subscription has finished its initial copy.
bool wait_initial_copy(Conn& sub) {
  return wait_for(sub,
                  "SELECT count(*) > 0 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel r "
                  "JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = 'cutover'",
                  {}, 120);
}

// The documented catch-up check: writes have stopped; the publisher's slot shows the
// subscriber flushed everything written up to now.
bool wait_caught_up(Conn& pub) {
  std::string lsn = pub.must("SELECT pg_current_wal_lsn()").text();
  return wait_for(pub,
                  "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots "
                  "WHERE slot_name = 'cutover'",
                  {lsn}, 120);
}

std::string table_counts(Conn& c) {
  return c
      .must("SELECT format('invoices %s, tracks %s, orders %s, jobs %s', "
            "(SELECT count(*) FROM invoices), (SELECT count(*) FROM tracks), "
            "(SELECT count(*) FROM orders), (SELECT count(*) FROM jobs))")
      .text();
}

// The publisher: wal_level = logical (a restart), application set up, first load.
std::unique_ptr<Cluster> make_publisher() {
  std::unique_ptr<Cluster> pub = Cluster::create(Cluster::shared().port() + kPublisherPortOffset);
  {
    Conn c(pub->conninfo("postgres"));
    c.must("ALTER SYSTEM SET wal_level = logical");
  }
  pub->stop();
  pub->start();
  Conn c(pub->conninfo());
  EXPECT_EQ(c.must("SHOW wal_level").text(), "logical");
  setup_application(c);
  return pub;
}

enum class Way { seqguard_tables_published, application_tables_only };

// Checks every promise over what committed on both servers.
void verify(Conn& c, int64_t commits, int64_t max_job_before) {
  EXPECT_EQ(c.must("SELECT count(*) FROM invoices").int8(), commits) << "acknowledged invoices are missing";
  EXPECT_EQ(expect_gapless_ids(c, "invoices"), commits) << "gapless INV numbers are not 1..N";
  EXPECT_EQ(expect_gapless_ids(c, "orders"), commits) << "late-bound ORD numbers are not 1..N";
  EXPECT_EQ(c.must("SELECT count(DISTINCT id) FROM tracks").int8(), commits) << "fast TRK IDs repeat";
  EXPECT_EQ(c.must("SELECT count(DISTINCT pk) FROM tracks").int8(), commits) << "serial values repeat";
  EXPECT_EQ(c.must("SELECT count(DISTINCT job_id) FROM jobs").int8(), commits) << "job ids repeat";
  EXPECT_GT(c.must("SELECT coalesce(min(job_id), -1) FROM jobs WHERE key LIKE 'after-%'").int8(), max_job_before)
      << "the new primary handed out job ids the old one had issued";
}

void cutover(Way way) {
  std::unique_ptr<Cluster> pub = make_publisher();
  std::unique_ptr<Cluster> sub = Cluster::create(Cluster::shared().port() + kSubscriberPortOffset);
  Conn p(pub->conninfo());

  // Numbers issued before the subscription exists reach the subscriber by its initial copy.
  LoadResult before = run_load(pub->conninfo(), "before", 4, 40, {"EU"});
  EXPECT_EQ(before.failures, 0) << before.first_failure;

  // What no replicated table records: series definitions (way 2, with the schema) and the
  // positions of counters and of the job id sequence, from the old primary's script. Way 2 runs it before the sync; way 1 after
  // it, once the sync has re-created the fast counters' sequences the copied counter
  // rows name.
  auto carry_positions = [&] {
    std::string out;
    ASSERT_EQ(pub->run_tool("psql", "-X -A -t -d seqguard_it -c \"SELECT seqguard_series_script()\" -o " +
                                        pub->dir() + "/series.sql",
                            &out),
              0)
        << out;
    ASSERT_EQ(sub->run_tool("psql", "-X -q -v ON_ERROR_STOP=1 --single-transaction -d seqguard_it -f " +
                                        pub->dir() + "/series.sql",
                            &out),
              0)
        << out;
  };

  if (way == Way::seqguard_tables_published) {
    p.must("CREATE PUBLICATION cutover FOR ALL TABLES");
    // The subscriber ran the same set-up script. Its own rows in seqguard's tables
    // would collide with the copied ones (23505 in the initial copy, retried forever):
    // the documented step empties them first.
    Conn s(sub->conninfo());
    setup_application(s);
    s.must("TRUNCATE seqguard.series, seqguard.counters, seqguard.idem_keys");
  } else {
    p.must("CREATE PUBLICATION cutover FOR TABLE invoices, tracks, orders, jobs");
    // The subscriber's schema from pg_dump --schema-only (extension, tables, defaults,
    // the late-bound column's triggers) without schema seqguard, whose fast counters'
    // sequences would come without their counters; its series from the publisher's
    // seqguard_series_script(), with the commands the documentation gives.
    Conn(sub->conninfo("postgres")).must("DROP DATABASE seqguard_it");
    Conn(sub->conninfo("postgres")).must("CREATE DATABASE seqguard_it");
    std::string out;
    ASSERT_EQ(pub->run_tool("pg_dump", "--schema-only --exclude-schema=seqguard --no-publications --no-subscriptions "
                                           "-d seqguard_it -f " +
                                           pub->dir() + "/schema.sql",
                            &out),
              0)
        << out;
    ASSERT_EQ(sub->run_tool("psql", "-X -q -v ON_ERROR_STOP=1 -d seqguard_it -f " + pub->dir() + "/schema.sql", &out),
              0)
        << out;
    ASSERT_NO_FATAL_FAILURE(carry_positions());
    Conn s(sub->conninfo());
    EXPECT_EQ(s.must("SELECT count(*) FROM seqguard_series WHERE series IN ('INV', 'TRK', 'ORD')").int8(), 3);
    EXPECT_EQ(s.must("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal")
                  .int8(),
              2)
        << "the late-bound column's triggers did not come with the schema";
  }
  Conn s(sub->conninfo());
  s.must("CREATE SUBSCRIPTION cutover CONNECTION '" + pub->conninfo() + "' PUBLICATION cutover");
  ASSERT_TRUE(wait_initial_copy(s)) << "initial copy did not finish:\n" << sub->log_tail(20);

  // Streaming: a scope of the fast series first used now, after the subscriber's schema
  // and its copy of seqguard's tables were made.
  LoadResult during = run_load(pub->conninfo(), "during", 4, 40, {"EU", "US"});
  EXPECT_EQ(during.failures, 0) << during.first_failure;
  const int64_t max_job_before = p.must("SELECT max(job_id) FROM jobs").int8();
  const int64_t max_req_before = p.must("SELECT last_value FROM seqguard_counters WHERE series = 'REQ'").int8();

  // The cutover. Writes have stopped (the loads are over); wait for the subscriber.
  ASSERT_TRUE(wait_caught_up(p)) << "the subscriber did not catch up:\n" << sub->log_tail(20);
  EXPECT_EQ(table_counts(s), table_counts(p));
  s.must("ALTER SUBSCRIPTION cutover DISABLE");
  s.must("DROP SUBSCRIPTION cutover");
  if (way == Way::application_tables_only) {
    ASSERT_NO_FATAL_FAILURE(carry_positions());
    s.must("SELECT seqguard_sync_all()");
  } else {
    s.must("SELECT seqguard_sync_all()");
    ASSERT_NO_FATAL_FAILURE(carry_positions());
  }
  if (::testing::Test::HasFatalFailure()) return;
  // The documented check afterwards: nothing is behind any more.
  EXPECT_EQ(s.must("SELECT coalesce(string_agg(format('%s %s.%s %s', kind, table_name, column_name, status), "
                   "'; '), '') FROM seqguard_check_drift() WHERE status NOT IN ('ok', 'empty')")
                .text(),
            "");
  pub.reset();  // the old primary is gone: nothing can reach it any more

  // The new primary takes the load.
  LoadResult after = run_load(sub->conninfo(), "after", 4, 40, {"EU", "US", "APAC"});
  EXPECT_EQ(after.failures, 0) << after.first_failure;
  EXPECT_GT(after.commits, 0);
  const int64_t commits = before.commits + during.commits + after.commits;
  verify(s, commits, max_job_before);
  EXPECT_GT(s.must("SELECT seqguard_nextval('REQ')").int8(), max_req_before + after.commits)
      << "request IDs of the old primary were issued again";
  std::cout << "[ note     ] cutover (" << (way == Way::seqguard_tables_published ? "seqguard's tables published"
                                                                                    : "application tables only")
            << "): " << before.commits << " + " << during.commits << " transactions on the old primary, "
            << after.commits << " on the new one, " << before.failures + during.failures + after.failures
            << " failed\n";
  if (way == Way::seqguard_tables_published) {
    // The idempotency keys came along: a retried request replays its outcome.
    Result r = s.must("SELECT status FROM seqguard_idem_begin((SELECT min(key) FROM jobs WHERE key LIKE 'before-%'))");
    EXPECT_EQ(r.text(), "completed");
  }
}

TEST(Cutover, LogicalReplicationWithSeqguardTablesPublished) { cutover(Way::seqguard_tables_published); }

TEST(Cutover, LogicalReplicationOfApplicationTablesOnly) { cutover(Way::application_tables_only); }

}  // namespace
}  // namespace seqguard::test
