// Late-bound gapless numbers under real concurrency: many connections whose rows are
// numbered at commit, with rollbacks, savepoint rollbacks, updates and deletes before
// commit; an inserter that keeps its transaction open blocking nobody; and an immediate
// server stop in the middle of a load.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {


std::string padded(const char* prefix, int64_t n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%s%06lld", prefix, (long long)n);
  return buf;
}

void make_late_table(const std::string& db, const std::string& table) {
  Conn c(db);
  c.must("SELECT seqguard_create_series('LB', 'LB-{seq:6}')");
  c.must("CREATE TABLE " + table + " (pk bigserial PRIMARY KEY, id text UNIQUE, worker int, note text)");
  c.must("SELECT seqguard_attach('" + table + "', 'id', 'LB')");
}

TEST(LateBound, SixteenSessionsWithRollbacksSavepointsUpdatesAndDeletesStayGapless) {
  std::string db = Cluster::shared().fresh_database("late_load");
  make_late_table(db, "docs");
  constexpr int kSessions = 16, kTransactions = 100;
  std::atomic<int> committed_rows{0}, rolled_back{0}, savepoints{0}, immediates{0}, failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kSessions; w++) {
    threads.emplace_back([&, w] {
      Conn c(db);
      std::mt19937 rng(7000 + w);
      std::string worker = std::to_string(w);
      for (int t = 0; t < kTransactions; t++) {
        bool ok = c.exec("BEGIN").ok();
        int rows = 0;
        std::vector<std::string> pks;
        int n = 1 + (int)(rng() % 3);
        for (int i = 0; i < n && ok; i++) {
          Result r = c.exec("INSERT INTO docs (worker) VALUES (" + worker + ") RETURNING pk, id");
          ok = r.ok() && r.rows() == 1;
          // Before commit the application sees NULL, RETURNING included.
          if (ok && !r.is_null(0, 1)) {
            ADD_FAILURE() << "ID visible before commit: " << r.text(0, 1);
            ok = false;
          }
          if (ok) {
            pks.push_back(r.text(0, 0));
            rows++;
          }
        }
        // An update moves the row to a new TID; its number must still arrive.
        if (ok && rng() % 3 == 0)
          ok = c.exec("UPDATE docs SET note = 'updated', worker = worker + 100 WHERE pk = " + pks.front()).ok();
        // A deleted row consumes no number.
        if (ok && pks.size() > 1 && rng() % 4 == 0) {
          ok = c.exec("DELETE FROM docs WHERE pk = " + pks.back()).ok();
          rows--;
        }
        // Rows inserted inside a savepoint that rolls back are gone, their trigger events too.
        if (ok && rng() % 3 == 0) {
          ok = c.exec("SAVEPOINT s").ok() && c.exec("INSERT INTO docs (worker, note) VALUES (0, 'sp')").ok() &&
               c.exec("INSERT INTO docs (worker, note) VALUES (0, 'sp')").ok() &&
               c.exec("ROLLBACK TO SAVEPOINT s").ok();
          savepoints++;
        }
        // Numbering early takes the counter's lock until commit, and changes nothing else.
        if (ok && rng() % 10 == 0) {
          ok = c.exec("SET CONSTRAINTS ALL IMMEDIATE").ok();
          immediates++;
        }
        if (!ok) {
          failures++;
          c.exec("ROLLBACK");
        } else if (rng() % 5 == 0) {
          c.must("ROLLBACK");
          rolled_back++;
        } else if (c.exec("COMMIT").ok()) {
          committed_rows += rows;
        } else {
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(rolled_back.load(), 0);
  EXPECT_GT(savepoints.load(), 0);
  EXPECT_GT(immediates.load(), 0);
  Conn c(db);
  EXPECT_EQ(c.must("SELECT count(*) FROM docs").int8(), committed_rows.load());
  EXPECT_EQ(expect_gapless_ids(c, "docs"), committed_rows.load());
  EXPECT_EQ(c.must("SELECT last_value FROM seqguard_counters WHERE series = 'LB'").int8(), committed_rows.load());
  // Rows are numbered in insertion order within a transaction: pk and ID rise together.
  EXPECT_EQ(c.must("SELECT count(*) FROM docs a JOIN docs b ON a.xmin = b.xmin AND a.pk < b.pk AND a.id > b.id")
                .int8(),
            0);
}

// Eight sessions keep updating numbered rows while inserters add more: the stale-ORM
// update (number set to NULL) and a renumbering are refused every time, updates that
// leave the number alone always go through, and afterwards every number is still there.
TEST(LateBound, ConcurrentUpdatersNeverTakeAnAssignedNumberAway) {
  std::string db = Cluster::shared().fresh_database("late_keep");
  make_late_table(db, "inv");
  {
    Conn c(db);
    c.must("INSERT INTO inv (worker) SELECT 0 FROM generate_series(1, 200)");
  }
  constexpr int kUpdaters = 8, kInserters = 2, kRounds = 150;
  std::atomic<int> refused{0}, wrong{0}, edits{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kUpdaters; w++) {
    threads.emplace_back([&, w] {
      Conn c(db);
      std::mt19937 rng(9100 + w);
      for (int i = 0; i < kRounds; i++) {
        std::string pk = std::to_string(1 + rng() % 200);
        const char* change = (i % 3 == 0)   ? "id = NULL, note = 'stale save'"
                             : (i % 3 == 1) ? "id = id || '-x'"
                                            : "note = 'edit', id = id";
        Result r = c.exec(std::string("UPDATE inv SET ") + change + " WHERE pk = " + pk);
        if (i % 3 == 2) {
          if (r.ok()) edits++;
          else if (r.sqlstate() != "40P01") wrong++;  // a deadlock between two updaters is theirs
        } else if (r.sqlstate() == "23001") {
          refused++;
        } else if (r.sqlstate() != "40P01") {
          ADD_FAILURE() << "an update that changes an assigned number gave '" << r.sqlstate() << "'";
          wrong++;
        }
      }
    });
  }
  for (int w = 0; w < kInserters; w++) {
    threads.emplace_back([&] {
      Conn c(db);
      for (int i = 0; i < kRounds; i++) c.must("INSERT INTO inv (worker) VALUES (1)");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(refused.load(), kUpdaters * kRounds / 2);
  EXPECT_GT(edits.load(), 0);
  Conn c(db);
  Result r = c.must("SELECT count(*), count(id), count(DISTINCT id), min(id), max(id) FROM inv");
  int64_t rows = 200 + kInserters * kRounds;
  EXPECT_EQ(r.text(0, 0), std::to_string(rows));
  EXPECT_EQ(r.text(0, 1), std::to_string(rows)) << "a numbered row lost its number";
  EXPECT_EQ(r.text(0, 2), std::to_string(rows));
  EXPECT_EQ(r.text(0, 3), padded("LB-", 1));
  EXPECT_EQ(r.text(0, 4), padded("LB-", rows)) << "numbers are not 1..N";
}

TEST(LateBound, AnInserterThatKeepsWorkingBlocksNobody) {
  std::string db = Cluster::shared().fresh_database("late_slow");
  make_late_table(db, "docs");
  Conn slow(db), fast(db);
  slow.must("BEGIN");
  slow.must("INSERT INTO docs (note) VALUES ('slow')");
  // Any wait on the counter would end in 55P03 here.
  fast.must("SET lock_timeout = '100ms'");
  for (int i = 1; i <= 20; i++) {
    Result r = fast.exec("INSERT INTO docs (note) VALUES ('fast')");
    ASSERT_TRUE(r.ok()) << r.error();
  }
  EXPECT_EQ(fast.must("SELECT max(id) FROM docs").text(), padded("LB-", 20));
  // The slow one is numbered when it commits, after the others.
  slow.must("COMMIT");
  EXPECT_EQ(fast.must("SELECT id FROM docs WHERE note = 'slow'").text(), padded("LB-", 21));
  // Only commits serialize: a transaction that numbered its rows early holds the counter,
  // and another commit waits for it (here: gives up after lock_timeout).
  slow.must("BEGIN");
  slow.must("INSERT INTO docs (note) VALUES ('early')");
  slow.must("SET CONSTRAINTS ALL IMMEDIATE");
  fast.must("BEGIN");
  fast.must("INSERT INTO docs (note) VALUES ('blocked at commit')");
  Result r = fast.exec("COMMIT");
  EXPECT_EQ(r.sqlstate(), "55P03") << r.error();
  slow.must("COMMIT");
  Conn c(db);
  EXPECT_EQ(expect_gapless_ids(c, "docs"), 22);
}

// Explicit values written far ahead of a sequence while 15 sessions insert with the
// default: when each explicit statement returns, the sequence is already past its values
// (without protection it stays behind, and the defaults would run into them); and the
// moves never take the sequence backwards under the concurrent nextval() calls: every
// session sees its IDs strictly increase, and no insert fails.
TEST(Protect, ExplicitInsertsAmidBusyDefaultInsertersMoveTheSequenceInTheStatement) {
  std::string db = Cluster::shared().fresh_database("protect_load");
  {
    Conn c(db);
    c.must("CREATE TABLE items (id bigserial PRIMARY KEY, who text)");
    c.must("SELECT seqguard_protect('items')");
  }
  std::atomic<bool> stop{false};
  std::atomic<int> defaults{0}, errors{0}, backwards{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 15; w++) {
    threads.emplace_back([&] {
      Conn c(db);
      int64_t last = 0;
      while (!stop) {
        Result r = c.exec("INSERT INTO items (who) VALUES ('default') RETURNING id");
        if (!r.ok()) {
          if (errors++ == 0) ADD_FAILURE() << "a default insert failed: " << r.error();
          continue;
        }
        defaults++;
        int64_t id = r.int8();
        if (id <= last) backwards++;
        last = id;
      }
    });
  }
  int explicit_rows = 0, behind_after_statement = 0;
  try {
    Conn c(db);
    for (int k = 0; k < 60; k++) {
      int64_t base = c.must("SELECT last_value + 1000000 FROM items_id_seq").int8();
      std::string b = std::to_string(base);
      switch (k % 3) {
        case 0:
          c.must("INSERT INTO items (id, who) VALUES (" + b + ", 'explicit')");
          explicit_rows += 1;
          break;
        case 1:
          c.must("INSERT INTO items (id, who) VALUES (" + b + " - 3, 'explicit'), (" + b + ", 'explicit')");
          explicit_rows += 2;
          break;
        default:
          c.must("INSERT INTO items (id, who) SELECT " + b + " - g, 'explicit' FROM generate_series(0, 4) g");
          explicit_rows += 5;
          break;
      }
      if (c.must("SELECT last_value < " + b + " FROM items_id_seq").text() == "t") behind_after_statement++;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();  // stop the inserters before the threads are destroyed
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(behind_after_statement, 0) << "the sequence was still behind an explicit value after its statement";
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(backwards.load(), 0) << "the sequence moved backwards";
  EXPECT_GT(defaults.load(), 500);
  Conn c(db);
  EXPECT_EQ(c.must("SELECT count(*) FROM items WHERE who = 'explicit'").int8(), explicit_rows);
  EXPECT_EQ(c.must("SELECT last_value >= (SELECT max(id) FROM items) FROM items_id_seq").text(), "t");
}

// Runs last in this file (its suite is registered last): it restarts the shared cluster.
TEST(LateBoundCrash, ImmediateStopMidLoadKeepsCommittedIdsGaplessAndNumberingContinues) {
  std::string db = Cluster::shared().fresh_database("late_crash");
  make_late_table(db, "crashy");
  insert_until_crash(db, "crashy", "worker", 300);

  Conn c(db);
  int64_t n = expect_gapless_ids(c, "crashy");
  EXPECT_GE(n, 300);
  EXPECT_EQ(c.must("SELECT last_value FROM seqguard_counters WHERE series = 'LB'").int8(), n);
  c.must("INSERT INTO crashy (worker) VALUES (0)");
  EXPECT_EQ(c.must("SELECT max(id) FROM crashy").text(), padded("LB-", n + 1));
}

}  // namespace
}  // namespace seqguard::test
