// One transaction that draws from a million gapless counters, on a server with
// PostgreSQL's stock lock settings, while other sessions do ordinary work: the import
// commits with every ID right, the other sessions never fail, and the importer's share
// of the shared lock table and its memory stay bounded however many counters it takes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

constexpr int kPortOffset = 41;
constexpr int kCounters = 1000000;
constexpr int kWorkers = 6;

// RssAnon of a process in kB (the test runs on the server's machine), or -1.
int64_t rss_anon_kb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8));
  return -1;
}

TEST(ManyCounters, MillionCountersInOneTransactionWithStockLockSettings) {
  std::unique_ptr<Cluster> cluster = Cluster::create(Cluster::shared().port() + kPortOffset);
  {
    // PostgreSQL's defaults, stated: 64 x (100 + ...) entries in the shared lock table.
    std::ofstream conf(cluster->dir() + "/data/postgresql.conf", std::ios::app);
    conf << "max_connections = 100\nmax_locks_per_transaction = 64\n";
  }
  cluster->stop();
  cluster->start();
  const std::string db = cluster->conninfo();
  {
    Conn c(db);
    ASSERT_EQ(c.must("SHOW max_locks_per_transaction").text(), "64");
    ASSERT_EQ(c.must("SHOW max_connections").text(), "100");
    c.must("SELECT seqguard_create_series('IMP', 'I-{scope}-{seq}')");
    c.must("SELECT seqguard_create_series('OTH', 'O-{scope}-{seq}')");
    c.must("SELECT seqguard_create_series('FST', 'F-{scope}-{seq}', gapless => false)");
    c.must("CREATE TABLE imp (id text NOT NULL, scope text NOT NULL)");
    c.must("CREATE TABLE oth (id text PRIMARY KEY, scope text NOT NULL)");
    c.must("CREATE TABLE fst (id text PRIMARY KEY)");
    c.must("CREATE TABLE work (k int PRIMARY KEY, v int NOT NULL)");
    c.must("INSERT INTO work SELECT g, 0 FROM generate_series(0, " + std::to_string(kWorkers - 1) + ") g");
  }

  Conn importer(db);
  const int pid = importer.backend_pid();
  std::atomic<bool> done{false};
  std::atomic<int> worker_failures{0}, worker_commits{0};
  std::vector<std::string> failure_messages;
  std::mutex failure_mutex;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; w++) {
    workers.emplace_back([&, w] {
      Conn c(db);
      const std::string ws = std::to_string(w);
      for (int t = 0; !done.load() || t < 5; t++) {
        // Ordinary work that takes locks of its own: a temporary table, a row update,
        // catalog reads; and IDs from an old counter, a new one, and a fast one.
        const std::string sql =
            "BEGIN;"
            "CREATE TEMP TABLE scratch_" + ws + " ON COMMIT DROP AS SELECT relname FROM pg_class LIMIT 50;"
            "UPDATE work SET v = v + 1 WHERE k = " + ws + ";"
            "INSERT INTO oth VALUES (next_formatted_id('OTH', 'w" + ws + "'), 'w" + ws + "');"
            "INSERT INTO oth VALUES (next_formatted_id('OTH', 'w" + ws + "x" + std::to_string(t) + "'), 'w" + ws +
            "x" + std::to_string(t) + "');"
            "INSERT INTO fst VALUES (next_formatted_id('FST', 'w" + ws + "'));"
            "COMMIT";
        Result r = c.exec(sql);
        if (r.ok()) {
          worker_commits++;
        } else {
          worker_failures++;
          std::lock_guard<std::mutex> g(failure_mutex);
          failure_messages.push_back(r.sqlstate() + " " + r.error());
          c.exec("ROLLBACK");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  // The importer's entries in the shared lock table and its memory, sampled while it runs.
  std::atomic<int64_t> max_locks{0}, samples{0}, max_rss_kb{0};
  const int64_t rss_before = rss_anon_kb(pid);
  std::thread sampler([&] {
    Conn c(db);
    while (!done.load()) {
      Result r = c.exec("SELECT count(*) FROM pg_locks WHERE pid = " + std::to_string(pid));
      if (r.ok()) {
        max_locks = std::max(max_locks.load(), r.int8());
        samples++;
      }
      max_rss_kb = std::max(max_rss_kb.load(), rss_anon_kb(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  auto started = std::chrono::steady_clock::now();
  Result begin = importer.exec("BEGIN");
  Result import = importer.exec("INSERT INTO imp SELECT next_formatted_id('IMP', 'c' || g), 'c' || g "
                                "FROM generate_series(1, " + std::to_string(kCounters) + ") g");
  // Past the import, in the same transaction: more IDs from counters it holds, new and old.
  Result again = importer.exec("INSERT INTO imp SELECT next_formatted_id('IMP', 'c' || g), 'c' || g "
                               "FROM generate_series(1, " + std::to_string(kCounters) + ", 100000) g");
  Result commit = importer.exec("COMMIT");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  done = true;
  sampler.join();
  for (auto& t : workers) t.join();

  ASSERT_TRUE(begin.ok()) << begin.error();
  ASSERT_TRUE(import.ok()) << import.sqlstate() << " " << import.error();
  ASSERT_TRUE(again.ok()) << again.sqlstate() << " " << again.error();
  ASSERT_TRUE(commit.ok()) << commit.sqlstate() << " " << commit.error();
  EXPECT_EQ(worker_failures.load(), 0) << (failure_messages.empty() ? "" : failure_messages.front());
  EXPECT_GT(worker_commits.load(), kWorkers * 5);
  EXPECT_GT(samples.load(), 5) << "the import ended before the lock table could be sampled";
  // The series, the tables and the creation locks kept for the first few counters: a
  // constant, where one entry per counter would have overflowed the table long ago.
  EXPECT_LE(max_locks.load(), 40) << "the importer held " << max_locks.load() << " lock-table entries";
  // Without a bound the in-memory counters alone take about 160 MB here.
  ASSERT_GT(rss_before, 0);
  EXPECT_LE(max_rss_kb.load() - rss_before, 40 * 1024)
      << "the importer's RssAnon grew from " << rss_before << " kB to " << max_rss_kb.load() << " kB";
  std::cout << "many counters: " << kCounters << " counters in " << seconds << " s, at most " << max_locks.load()
            << " lock-table entries and " << (max_rss_kb.load() - rss_before) << " kB more RssAnon; "
            << worker_commits.load() << " worker transactions\n";

  Conn c(db);
  // Every scope numbered 1..k, without a duplicate: 1 for most, 1 and 2 for every 100,000th.
  EXPECT_EQ(c.must("SELECT count(*) FROM imp").int8(), kCounters + 10);
  EXPECT_EQ(c.must("SELECT count(DISTINCT id) FROM imp").int8(), kCounters + 10);
  EXPECT_EQ(c.must("SELECT count(*) FROM (SELECT scope FROM imp GROUP BY scope "
                   "HAVING count(*) <> max(split_part(id, '-', 3)::int) "
                   "OR min(split_part(id, '-', 3)::int) <> 1) s").int8(), 0);
  EXPECT_EQ(c.must("SELECT count(*) FROM imp WHERE split_part(id, '-', 2) <> scope").int8(), 0);
  EXPECT_EQ(c.must("SELECT count(*) FROM seqguard_counters WHERE series = 'IMP'").int8(), kCounters);
  EXPECT_EQ(c.must("SELECT sum(last_value) FROM seqguard_counters WHERE series = 'IMP'").int8(), kCounters + 10);
  // The workers' counters too.
  EXPECT_EQ(c.must("SELECT count(*) FROM (SELECT scope FROM oth GROUP BY scope "
                   "HAVING count(*) <> max(split_part(id, '-', 3)::int) "
                   "OR min(split_part(id, '-', 3)::int) <> 1) s").int8(), 0);
  EXPECT_EQ(c.must("SELECT count(*) FROM oth").int8(), 2 * worker_commits.load());
  EXPECT_EQ(c.must("SELECT count(*) FROM fst").int8(), worker_commits.load());
  // And numbering goes on where the import left it.
  EXPECT_EQ(c.must("SELECT next_formatted_id('IMP', 'c100001')").text(), "I-c100001-3");
  EXPECT_EQ(c.must("SELECT next_formatted_id('IMP', 'c999999')").text(), "I-c999999-2");
}

}  // namespace
}  // namespace seqguard::test
