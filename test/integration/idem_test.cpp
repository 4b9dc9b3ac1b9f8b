// Idempotency keys under real concurrency (docs/reference.md, "Idempotency keys"): many connections begin the
// same key at once, at every isolation level, with rollbacks; then 32 connections hammer
// 8 keys with random completes, fails, heartbeats, dead workers, short TTLs and a purger,
// and every answer is checked as it comes and against the whole history at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

const char* const kIsolation[] = {"READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"};

struct Answer {
  std::string status;
  std::optional<int64_t> job;
  int attempt = 0;
};

Answer answer_of(const Result& r) {
  Answer a;
  if (r.rows() != 1) return a;
  a.status = r.text(0, 0);
  if (!r.is_null(0, 1)) a.job = r.int8(0, 1);
  a.attempt = (int)r.int8(0, 2);
  return a;
}

// Opens `n` connections, then runs body(i, conn) on n threads released at the same moment.
void run_together(const std::string& db, int n, const std::function<void(int, Conn&)>& body) {
  std::vector<Conn> conns;
  for (int i = 0; i < n; i++) conns.emplace_back(db);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; i++) {
    threads.emplace_back([&, i] {
      ready++;
      while (ready.load() < n) std::this_thread::yield();
      body(i, conns[i]);
    });
  }
  for (auto& t : threads) t.join();
}

// Waits until `n` backends wait for a seqguard lock.
bool wait_for_waiters(Conn& admin, int n) {
  for (int i = 0; i < 1000; i++) {
    if (admin.must("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").int8() >= n)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(IdemConcurrency, ConcurrentBeginsStartExactlyOneJobAtEveryIsolationLevel) {
  std::string db = Cluster::shared().fresh_database("idem_it");
  constexpr int kCallers = 32, kRounds = 12;
  for (int round = 0; round < kRounds; round++) {
    std::string key = "click:" + std::to_string(round);
    std::vector<Answer> answers(kCallers);
    std::vector<std::string> errors(kCallers);
    run_together(db, kCallers, [&](int i, Conn& c) {
      // A snapshot taken before the wait: REPEATABLE READ and SERIALIZABLE callers must
      // still see the first caller's job, not fail.
      c.exec(std::string("BEGIN ISOLATION LEVEL ") + kIsolation[(i + round) % 3]);
      c.exec("SELECT count(*) FROM pg_class");
      Result r = c.exec("SELECT status, job_id, attempt FROM seqguard_idem_begin($1, 'fp')", {key});
      if (!r.ok()) {
        errors[i] = r.sqlstate() + " " + r.error();
        c.exec("ROLLBACK");
        return;
      }
      answers[i] = answer_of(r);
      Result done = c.exec("COMMIT");
      if (!done.ok()) errors[i] = done.sqlstate() + " at commit: " + done.error();
    });
    int started = 0;
    std::set<int64_t> jobs;
    for (int i = 0; i < kCallers; i++) {
      EXPECT_EQ(errors[i], "") << "caller " << i << " round " << round;
      ASSERT_TRUE(answers[i].job.has_value()) << "caller " << i << " got no job id";
      jobs.insert(*answers[i].job);
      EXPECT_EQ(answers[i].attempt, 1);
      if (answers[i].status == "started")
        started++;
      else
        EXPECT_EQ(answers[i].status, "in_progress");
    }
    EXPECT_EQ(started, 1) << "round " << round;
    EXPECT_EQ(jobs.size(), 1u) << "every caller must get the one job of the key";
  }
}

TEST(IdemConcurrency, WhenTheFirstRollsBackExactlyOneWaiterStarts) {
  std::string db = Cluster::shared().fresh_database("idem_it");
  constexpr int kWaiters = 16, kRounds = 6;
  Conn admin(db), first(db);
  for (int round = 0; round < kRounds; round++) {
    std::string key = "rollback:" + std::to_string(round);
    first.must("BEGIN");
    Answer a = answer_of(first.must("SELECT status, job_id, attempt FROM seqguard_idem_begin('" + key + "')"));
    ASSERT_EQ(a.status, "started");
    std::vector<Answer> answers(kWaiters);
    std::vector<std::string> errors(kWaiters);
    std::thread releaser([&] {
      EXPECT_TRUE(wait_for_waiters(admin, kWaiters)) << "the waiters never queued on the key";
      first.must("ROLLBACK");
    });
    run_together(db, kWaiters, [&](int i, Conn& c) {
      c.exec(std::string("BEGIN ISOLATION LEVEL ") + kIsolation[(i + round) % 3]);
      c.exec("SELECT count(*) FROM pg_class");
      Result r = c.exec("SELECT status, job_id, attempt FROM seqguard_idem_begin($1)", {key});
      if (!r.ok()) {
        errors[i] = r.sqlstate() + " " + r.error();
        c.exec("ROLLBACK");
        return;
      }
      answers[i] = answer_of(r);
      Result done = c.exec("COMMIT");
      if (!done.ok()) errors[i] = done.sqlstate() + " at commit: " + done.error();
    });
    releaser.join();
    int started = 0;
    std::set<int64_t> jobs;
    for (int i = 0; i < kWaiters; i++) {
      EXPECT_EQ(errors[i], "") << "waiter " << i;
      ASSERT_TRUE(answers[i].job.has_value());
      EXPECT_NE(*answers[i].job, *a.job) << "the rolled-back job must not be reported";
      EXPECT_EQ(answers[i].attempt, 1);
      jobs.insert(*answers[i].job);
      started += answers[i].status == "started";
    }
    EXPECT_EQ(started, 1) << "round " << round;
    EXPECT_EQ(jobs.size(), 1u);
  }
}

TEST(IdemConcurrency, SerializableCallersNeverFailEachOther) {
  // Distinct keys and a few hot ones, begun and finished inside SERIALIZABLE
  // transactions: the registry takes no predicate locks, so none may fail with 40001.
  std::string db = Cluster::shared().fresh_database("idem_it");
  constexpr int kThreads = 16;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::atomic<int> transactions{0}, failures{0};
  std::mutex m;
  std::vector<std::string> errors;
  run_together(db, kThreads, [&](int i, Conn& c) {
    std::mt19937 rng(100 + i);
    for (int n = 0; std::chrono::steady_clock::now() < until; n++) {
      std::string key = rng() % 4 == 0 ? "hot:" + std::to_string(rng() % 3) : "t" + std::to_string(i) + ":" + std::to_string(n);
      c.exec("BEGIN ISOLATION LEVEL SERIALIZABLE");
      Result r = c.exec("SELECT status, job_id, attempt FROM seqguard_idem_begin($1, lease => '20 ms')", {key});
      bool ok = r.ok();
      if (ok) {
        Answer a = answer_of(r);
        if (a.status == "started") {
          const char* finish = rng() % 2 ? "SELECT seqguard_idem_complete($1, $2::bigint, '{}')"
                                         : "SELECT seqguard_idem_fail($1, $2::bigint, 'x')";
          Result f = c.exec(finish, {key, std::to_string(*a.job)});
          ok = f.ok();
          if (!ok) r = std::move(f);
        }
      }
      Result done = c.exec(ok ? "COMMIT" : "ROLLBACK");
      if (ok && !done.ok()) {
        ok = false;
        r = std::move(done);
      }
      transactions++;
      if (!ok) {
        failures++;
        std::lock_guard<std::mutex> g(m);
        if (errors.size() < 10) errors.push_back(r.sqlstate() + " " + r.error());
      }
    }
  });
  EXPECT_EQ(failures.load(), 0) << (errors.empty() ? "" : errors.front());
  EXPECT_GT(transactions.load(), 100);
}

// --- the hammer ---------------------------------------------------------------------------

using Micros = int64_t;

// One job, as its worker saw it (server times, read in the worker's own transaction).
struct Job {
  std::string key;
  int64_t id = 0;
  int attempt = 0;
  Micros started_at = 0;
  Micros lease_until = 0;               // the latest lease granted to it (may shorten)
  std::optional<Micros> finished_at;    // completed or failed by its worker
};

struct History {
  std::mutex m;
  std::map<int64_t, Job> jobs;
  std::set<int64_t> answered;  // every job id any begin reported
  std::vector<std::string> problems;

  void problem(const std::string& p) {
    std::lock_guard<std::mutex> g(m);
    if (problems.size() < 20) problems.push_back(p);
  }
};

// The row this transaction wrote for (key, job). seqguard writes the newest version of a
// row whatever the caller's snapshot, so a REPEATABLE READ snapshot taken before another
// transaction's change sees the row as it was then *and* its own new version: the
// query asks for its own version (xmin), by a sequential scan (an index scan stops at
// the first version of a HOT chain that the snapshot sees).
constexpr const char* kTimes =
    "SELECT (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM lease_until) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint, status, job_id "
    "FROM seqguard.idem_keys WHERE owner = current_user::regrole AND key = $1 AND job_id = $2::bigint "
    "AND xmin = pg_current_xact_id()::xid";

TEST(IdemHammer, ThirtyTwoConnectionsEightKeysAtMostOneLiveJobPerKey) {
  std::string db = Cluster::shared().fresh_database("idem_it");
  constexpr int kWorkers = 32, kKeys = 8;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  History h;
  std::atomic<int> steps{0}, started{0}, completed{0}, failed{0}, stale{0}, purged{0}, rollbacks{0};
  std::atomic<bool> done{false};

  // Purges all the time: keys get short TTLs, so some expire (and are begun afresh) while
  // others are in use. Purge must never take a key whose worker still holds a lease.
  std::thread purger([&] {
    Conn c(db);
    while (!done) {
      Result r = c.exec("SELECT seqguard_idem_purge()");
      if (!r.ok())
        h.problem("purge failed: " + r.sqlstate() + " " + r.error());
      else
        purged += (int)r.int8();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  run_together(db, kWorkers, [&](int w, Conn& c) {
    c.must("SET enable_indexscan = off");
    c.must("SET enable_bitmapscan = off");
    std::mt19937 rng(7000 + w);
    std::map<std::string, int64_t> mine;  // key -> the job this worker started and still runs
    auto fail_step = [&](const std::string& what, const Result& r) {
      h.problem("worker " + std::to_string(w) + " " + what + ": " + r.sqlstate() + " " + r.error());
    };
    while (std::chrono::steady_clock::now() < until) {
      steps++;
      std::string key = "k" + std::to_string(rng() % kKeys);
      // READ COMMITTED or REPEATABLE READ: the worker reads its own row back in the same
      // transaction (a SERIALIZABLE transaction reading the table could fail because
      // of that read, which would say nothing about seqguard; see the test above).
      c.exec(rng() % 2 ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN");
      c.exec("SELECT count(*) FROM pg_class");  // take the snapshot before any wait
      bool rollback = rng() % 10 == 0;
      int action = (int)(rng() % 10);
      auto it = mine.find(key);
      if (it == mine.end() || action < 3) {
        // begin: leases of 20-200 ms run out often; TTLs of 5-300 ms make keys expire.
        std::string lease = std::to_string(20 + rng() % 180) + " ms";
        std::string ttl = std::to_string(5 + rng() % 295) + " ms";
        Result r = c.exec("SELECT status, job_id, attempt FROM seqguard_idem_begin($1, NULL, $2::interval, $3::interval, $4)",
                          {key, lease, ttl, std::string(rng() % 4 == 0 ? "true" : "false")});
        if (!r.ok()) {
          fail_step("begin", r);
          c.exec("ROLLBACK");
          continue;
        }
        Answer a = answer_of(r);
        if (!a.job || a.attempt < 1 || (a.status != "started" && a.status != "in_progress" && a.status != "completed")) {
          h.problem("bad answer: " + a.status + " attempt " + std::to_string(a.attempt) + (a.job ? "" : " NULL job"));
          c.exec("ROLLBACK");
          continue;
        }
        Job job;
        if (a.status == "started") {
          Result t = c.exec(kTimes, {key, std::to_string(*a.job)});
          if (!t.ok() || t.rows() != 1 || t.text(0, 3) != "in_progress") {
            h.problem("the started job is not the key's row in its own transaction: " +
                      (t.ok() ? std::to_string(t.rows()) + " rows" + (t.rows() ? ", " + t.text(0, 3) : "")
                              : t.error()));
            c.exec("ROLLBACK");
            continue;
          } else {
            job = Job{key, *a.job, a.attempt, t.int8(0, 0), t.int8(0, 1), std::nullopt};
          }
        }
        if (rollback) {
          c.exec("ROLLBACK");
          rollbacks++;
          continue;
        }
        Result cr = c.exec("COMMIT");
        if (!cr.ok()) {
          fail_step("commit after begin", cr);
          continue;
        }
        std::lock_guard<std::mutex> g(h.m);
        h.answered.insert(*a.job);
        if (a.status == "started") {
          started++;
          if (!h.jobs.emplace(job.id, job).second) h.problems.push_back("job id started twice: " + std::to_string(job.id));
          mine[key] = job.id;
        }
        continue;
      }
      // This worker runs a job of the key: finish it, extend it, or die (forget it). It
      // may be too late: the lease ran out and another worker took the key (55000).
      int64_t job_id = it->second;
      std::string sql;
      const char* what;
      if (action < 6) {
        sql = "SELECT seqguard_idem_complete($1, $2::bigint, jsonb_build_object('by', " + std::to_string(w) + "))";
        what = "complete";
      } else if (action < 8) {
        sql = "SELECT seqguard_idem_fail($1, $2::bigint, 'worker gave up')";
        what = "fail";
      } else if (action < 9) {
        sql = "SELECT seqguard_idem_heartbeat($1, $2::bigint, '100 ms')";
        what = "heartbeat";
      } else {
        mine.erase(it);  // the worker dies: its lease will run out
        c.exec("ROLLBACK");
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));  // the work
      Result r = c.exec(sql, {key, std::to_string(job_id)});
      if (!r.ok()) {
        if (r.sqlstate() != "55000") fail_step(what, r);
        stale++;
        mine.erase(key);
        c.exec("ROLLBACK");
        continue;
      }
      Result t = c.exec(kTimes, {key, std::to_string(job_id)});
      if (!t.ok() || t.rows() != 1) {
        h.problem(std::string(what) + " succeeded but the key's row is not its job");
        c.exec("ROLLBACK");
        continue;
      }
      Micros lease_until = t.is_null(0, 1) ? 0 : t.int8(0, 1);
      Micros finished_at = t.is_null(0, 2) ? 0 : t.int8(0, 2);
      if (rollback) {
        c.exec("ROLLBACK");
        rollbacks++;
        continue;
      }
      Result cr = c.exec("COMMIT");
      if (!cr.ok()) {
        fail_step(std::string("commit after ") + what, cr);
        continue;
      }
      std::lock_guard<std::mutex> g(h.m);
      Job& job = h.jobs[job_id];
      if (std::string(what) == "heartbeat") {
        job.lease_until = lease_until;  // the latest lease, which may be shorter
      } else {
        job.finished_at = finished_at;
        (std::string(what) == "complete" ? completed : failed)++;
        mine.erase(key);
      }
    }
  });
  done = true;
  purger.join();

  for (const std::string& p : h.problems) ADD_FAILURE() << p;

  // Every job id any begin reported was started (and committed) by some worker.
  for (int64_t id : h.answered) EXPECT_TRUE(h.jobs.count(id)) << "job " << id << " was reported but never started";
  // Per key, in the order they started: a job starts only once the previous one has
  // finished or its latest lease has run out, and the attempt goes up by one unless the
  // key expired in between (then it is 1 again).
  std::map<std::string, std::vector<const Job*>> per_key;
  for (auto& [id, job] : h.jobs) per_key[job.key].push_back(&job);
  int overlaps = 0;
  for (auto& [key, jobs] : per_key) {
    std::sort(jobs.begin(), jobs.end(), [](const Job* a, const Job* b) { return a->started_at < b->started_at; });
    for (size_t i = 1; i < jobs.size(); i++) {
      const Job& a = *jobs[i - 1];
      const Job& b = *jobs[i];
      EXPECT_LT(a.id, b.id) << key << ": job ids must grow with time";
      Micros a_end = a.finished_at ? *a.finished_at : a.lease_until;
      if (b.started_at < a_end) {
        overlaps++;
        ADD_FAILURE() << key << ": job " << b.id << " started " << (a_end - b.started_at) << " us before job " << a.id
                      << " ended (" << (a.finished_at ? "finished" : "lease") << ")";
      }
      EXPECT_TRUE(b.attempt == a.attempt + 1 || b.attempt == 1)
          << key << ": attempt " << b.attempt << " after " << a.attempt;
    }
  }
  EXPECT_EQ(overlaps, 0);

  // The table holds at most one row per key, consistent with the last job started.
  Conn c(db);
  Result rows = c.must("SELECT key, job_id, attempt, status, (status = 'in_progress') = (lease_until IS NOT NULL) "
                       "FROM seqguard.idem_keys ORDER BY key");
  EXPECT_LE(rows.rows(), kKeys);
  for (int i = 0; i < rows.rows(); i++) {
    const std::vector<const Job*>& jobs = per_key[rows.text(i, 0)];
    ASSERT_FALSE(jobs.empty());
    EXPECT_EQ(rows.int8(i, 1), jobs.back()->id) << rows.text(i, 0);
    EXPECT_EQ(rows.int8(i, 2), jobs.back()->attempt) << rows.text(i, 0);
    EXPECT_EQ(rows.text(i, 4), "t");
  }

  // The load did what it is meant to: many starts, finishes, stale workers, purges.
  // (Modest floors: the machine may be busy; a typical run has ten times as many.)
  EXPECT_GT(started.load(), 100);
  EXPECT_GT(completed.load(), 20);
  EXPECT_GT(failed.load(), 10);
  EXPECT_GT(stale.load(), 5);
  EXPECT_GT(purged.load(), 0);
  EXPECT_GT(rollbacks.load(), 20);
  std::cout << "[ idem     ] " << steps.load() << " steps: " << started.load() << " started, " << completed.load()
            << " completed, " << failed.load() << " failed, " << stale.load() << " stale workers, " << purged.load()
            << " purged, " << rollbacks.load() << " rollbacks\n";
}

}  // namespace
}  // namespace seqguard::test
