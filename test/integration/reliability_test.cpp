// What a database team asks before trusting seqguard with legal numbering: does the state
// survive a backend killed in the middle of a load (crash recovery of the whole server),
// the promotion of a streaming standby, and a pg_dump/pg_restore round trip; and can the
// extension be dropped and created again without leaving anything behind.
//
// Every scenario runs the same Workload: 16 sessions that allocate from gapless and fast
// series (with scopes and two periods) and from a plain sequence, in transactions that
// commit, roll back, or roll back to a savepoint. After the event, Workload::verify()
// reads what committed and checks every promise at once, then proves that numbering
// continues where it should by allocating once more in every counter.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

using namespace std::chrono_literals;

// An ID ends with its number: "W-0000123", "EU-2029-00012", "EU/202912/7". The key is
// everything before it, which names the counter (series, scope, period).
struct SplitId {
  std::string key;
  int64_t number;
};

SplitId split_id(const std::string& id) {
  std::size_t p = id.size();
  while (p > 0 && isdigit((unsigned char)id[p - 1])) p--;
  if (p == id.size()) throw std::runtime_error("ID without a number: " + id);
  return {id.substr(0, p), std::stoll(id.substr(p))};
}

// Scopes and dates the workload allocates with: four counters per scoped series, over
// two periods (a year boundary, so that both yearly and monthly series change period).
const std::vector<std::string> kScopes = {"EU", "US"};
const std::vector<std::string> kDates = {"2029-12-31", "2030-01-01"};

// What Workload::verify() found.
struct Verified {
  int64_t rows = 0;       // committed rows before verify() added its own
  int64_t plain_max = 0;  // largest plain-sequence value committed
};

// The series and tables every scenario loads. Later features (idempotency keys, drift
// repair) add their own statements to transaction() and their own checks to verify().
class Workload {
 public:
  static void setup(Conn& c) {
    // One counter forever; scope + yearly period; scope + monthly period, fast mode.
    c.must("SELECT seqguard_create_series('W', 'W-{seq:7}')");
    c.must("SELECT seqguard_create_series('WS', '{scope}-{YYYY}-{seq:5}')");
    c.must("SELECT seqguard_create_series('WF', '{scope}/{YYYY}{MM}/{seq}', gapless => false)");
    c.must("CREATE SEQUENCE wl_plain");
    c.must(
        "CREATE TABLE wl (id text PRIMARY KEY DEFAULT next_formatted_id('W'), ref text NOT NULL UNIQUE, "
        "fast text NOT NULL UNIQUE, plain bigint NOT NULL UNIQUE DEFAULT nextval('wl_plain'), w int)");
  }

  // One transaction of session `w`. Returns the rows it committed, or -1 when a
  // statement failed (the caller looks at the connection to tell why). Every row takes
  // W's counter first (id is the first column, so its default is evaluated first):
  // transactions queue on W, and the scoped counters they take in random order after it
  // cannot deadlock.
  static int transaction(Conn& c, std::mt19937& rng, int w) {
    auto insert = [&]() {
      const std::string& scope = kScopes[rng() % kScopes.size()];
      const std::string& date = kDates[rng() % kDates.size()];
      return c
          .exec("INSERT INTO wl (ref, fast, w) VALUES (next_formatted_id('WS', $1, $2::date), "
                "next_formatted_id('WF', $1, $2::date), $3::int)",
                {scope, date, std::to_string(w)})
          .ok();
    };
    if (!c.exec("BEGIN").ok()) return -1;
    int rows = 0;
    int n = 1 + (int)(rng() % 3);
    for (int i = 0; i < n; i++, rows++)
      if (!insert()) return -1;
    if (rng() % 3 == 0) {
      // Numbers drawn inside a savepoint that rolls back go back too (gapless ones).
      if (!c.exec("SAVEPOINT s").ok() || !insert() || !c.exec("ROLLBACK TO SAVEPOINT s").ok()) return -1;
    }
    if (rng() % 5 == 0) return c.exec("ROLLBACK").ok() ? 0 : -1;
    return c.exec("COMMIT").ok() ? rows : -1;
  }

  // Checks what committed: gapless series have no hole and no duplicate in any counter,
  // fast series and the plain sequence no duplicate. Then allocates once more in every
  // counter: a gapless one must give max + 1, a fast one more than anything committed.
  // `min_rows`: rows known to have committed (acknowledged before the event).
  static Verified verify(Conn& c, int64_t min_rows) {
    Verified v;
    Result r = c.must("SELECT id, ref, fast, plain FROM wl");
    v.rows = r.rows();
    EXPECT_GE(v.rows, min_rows) << "acknowledged commits are missing";
    std::map<std::string, std::set<int64_t>> gapless;  // key -> numbers
    std::map<std::string, int64_t> fast_max;
    std::set<int64_t> plain;
    for (int i = 0; i < r.rows(); i++) {
      for (int col : {0, 1}) {
        SplitId s = split_id(r.text(i, col));
        EXPECT_TRUE(gapless[s.key].insert(s.number).second) << "duplicate gapless ID " << r.text(i, col);
      }
      SplitId f = split_id(r.text(i, 2));
      fast_max[f.key] = std::max(fast_max[f.key], f.number);
      EXPECT_TRUE(plain.insert(r.int8(i, 3)).second) << "duplicate sequence value " << r.int8(i, 3);
    }
    for (auto& [key, numbers] : gapless) {
      EXPECT_EQ(*numbers.begin(), 1) << "counter " << key << " does not start at 1";
      EXPECT_EQ(*numbers.rbegin(), (int64_t)numbers.size())
          << "counter " << key << " has a hole: " << numbers.size() << " IDs, largest " << *numbers.rbegin();
    }
    v.plain_max = plain.empty() ? 0 : *plain.rbegin();

    // The counters' stored state agrees with the data.
    Result w = c.must("SELECT last_value FROM seqguard_counters WHERE series = 'W'");
    if (v.rows > 0) {
      EXPECT_EQ(w.rows(), 1);
      EXPECT_EQ(w.rows() == 1 ? w.int8() : -1, (int64_t)gapless["W-"].size());
    }

    // Numbering continues: one more row in every (scope, period).
    int64_t next_w = gapless["W-"].size() + 1;
    for (const auto& scope : kScopes) {
      for (const auto& date : kDates) {
        Result n = c.exec(
            "INSERT INTO wl (ref, fast, w) VALUES (next_formatted_id('WS', $1, $2::date), "
            "next_formatted_id('WF', $1, $2::date), -1) RETURNING id, ref, fast, plain",
            {scope, date});
        if (!n.ok()) {
          ADD_FAILURE() << "allocating after the event failed: " << n.error();
          continue;
        }
        SplitId id = split_id(n.text(0, 0)), ref = split_id(n.text(0, 1)), fast = split_id(n.text(0, 2));
        EXPECT_EQ(id.number, next_w++) << "series W does not continue at max + 1";
        EXPECT_EQ(ref.number, (int64_t)gapless[ref.key].size() + 1)
            << "counter " << ref.key << " does not continue at max + 1";
        EXPECT_GT(fast.number, fast_max[fast.key]) << "fast counter " << fast.key << " reissued a number";
        EXPECT_GT(n.int8(0, 3), v.plain_max) << "the plain sequence reissued a value";
      }
    }
    return v;
  }
};

// `sessions` connections running Workload::transaction() until stopped, until
// `per_session` transactions each, or until their connection dies.
class Load {
 public:
  Load(std::string conninfo, int sessions, int per_session = -1) {
    for (int w = 0; w < sessions; w++) {
      threads_.emplace_back([this, conninfo, w, per_session] {
        try {
          Conn c(conninfo);
          std::mt19937 rng(7919 * (w + 1));
          for (int t = 0; (per_session < 0 || t < per_session) && !stop_; t++) {
            int rows = Workload::transaction(c, rng, w);
            if (rows >= 0) {
              committed_rows_ += rows;
              transactions_++;
              continue;
            }
            if (!c.alive() || PQstatus(c.raw()) != CONNECTION_OK || disconnect_expected_) break;
            errors_++;
            c.exec("ROLLBACK");
          }
        } catch (const std::exception& e) {
          if (!disconnect_expected_) {
            errors_++;
            std::cerr << "load session " << w << ": " << e.what() << "\n";
          }
        }
      });
    }
  }
  ~Load() { join(); }

  // Waits until `n` transactions have ended (committed or rolled back); false on timeout.
  bool wait_transactions(int n, std::chrono::seconds timeout = 120s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (transactions_ < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
  // From now on a lost connection is what the test wants, not an error.
  void expect_disconnect() { disconnect_expected_ = true; }
  void stop() { stop_ = true; }
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int64_t committed_rows() const { return committed_rows_; }
  int errors() const { return errors_; }

 private:
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false}, disconnect_expected_{false};
  std::atomic<int64_t> committed_rows_{0};
  std::atomic<int> transactions_{0}, errors_{0};
};

// --- 1. kill -9 of one backend: the postmaster restarts every backend (crash recovery) --

TEST(Reliability, KillNineOfOneBackendMidLoadKeepsCommittedIdsGapless) {
  Cluster& cluster = Cluster::shared();
  std::string db = cluster.fresh_database("rel_kill");
  {
    Conn c(db);
    Workload::setup(c);
  }
  Load load(db, 16);
  ASSERT_TRUE(load.wait_transactions(300));

  // The victim: a backend in the middle of a transaction that holds a gapless counter's
  // lock (seqguard's advisory space 0x5302), so that it dies with numbers drawn but not
  // committed. Any backend of the load will do if none is caught holding one.
  Conn admin(cluster.conninfo("rel_kill"));
  int victim = 0;
  for (int i = 0; i < 200 && victim == 0; i++) {
    Result r = admin.must(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 21250 AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1");
    if (r.rows() > 0) victim = (int)r.int8();
  }
  bool held_lock = victim != 0;
  if (!victim) {
    victim = (int)admin
                 .must("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend' LIMIT 1")
                 .int8();
  }
  int64_t acknowledged = load.committed_rows();
  load.expect_disconnect();
  cluster.expect_killed_backends(1);
  ASSERT_EQ(::kill(victim, SIGKILL), 0) << "kill -9 " << victim;
  load.join();
  EXPECT_EQ(load.errors(), 0);
  ASSERT_TRUE(cluster.wait_ready(60, "rel_kill")) << cluster.log_tail();
  // The postmaster saw the backend die and restarted them all: crash recovery.
  std::string log = cluster.log_tail(2000);
  EXPECT_NE(log.find("(PID " + std::to_string(victim) + ") was terminated by signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("all server processes terminated; reinitializing"), std::string::npos);
  std::cout << "[ note     ] killed backend " << victim << (held_lock ? " (holding a counter lock)" : "") << " after "
            << acknowledged << " committed rows\n";

  Conn c(db);
  Verified v = Workload::verify(c, acknowledged);
  EXPECT_GT(v.rows, 0);
  // And the recovered server keeps numbering under the same load.
  {
    Load again(db, 16, 15);
    again.join();
    EXPECT_EQ(again.errors(), 0);
  }
  Workload::verify(c, v.rows + 4);
}

// --- 2. promotion of a streaming standby ----------------------------------------------

TEST(Reliability, PromotedStandbyContinuesGaplessWhilePlainSequencesJumpAhead) {
  int base = Cluster::shared().port();
  std::unique_ptr<Cluster> primary = Cluster::create(base + 1);
  std::string pdb = primary->conninfo();
  {
    Conn c(pdb);
    Workload::setup(c);
    c.must("CREATE SEQUENCE probe_seq");
    c.must("CREATE TABLE probe (v bigint)");
  }
  std::unique_ptr<Cluster> standby = primary->create_standby(base + 2);

  Load load(pdb, 16);
  ASSERT_TRUE(load.wait_transactions(300));
  // A plain sequence WAL-logs 32 values ahead of what it hands out, and the standby
  // replays that logged value. A fresh sequence's first value, committed and replayed,
  // makes the jump at promotion certain (not a matter of where in its 32 we stop).
  int64_t acknowledged = load.committed_rows();
  Conn p(pdb);
  int64_t probe = p.must("INSERT INTO probe VALUES (nextval('probe_seq')) RETURNING v").int8();
  std::string lsn = p.must("SELECT pg_current_wal_lsn()").text();
  Conn s(standby->conninfo());
  bool replayed = false;
  for (int i = 0; i < 600 && !replayed; i++) {
    Result r = s.exec("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn});
    replayed = r.ok() && r.text() == "t";
    if (!replayed) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(replayed) << "the standby did not replay " << lsn;
  // More load after the probe, then the primary dies in the middle of it.
  ASSERT_TRUE(load.wait_transactions(600));
  load.expect_disconnect();
  primary->stop("immediate");
  load.join();
  EXPECT_EQ(load.errors(), 0);

  standby->promote();
  ASSERT_TRUE(standby->wait_ready(60, "seqguard_it"));
  Conn c(standby->conninfo());
  EXPECT_EQ(c.must("SELECT pg_is_in_recovery()").text(), "f");
  Verified v = Workload::verify(c, acknowledged);

  // The plain sequence on the same server: it skips what the old primary had logged
  // ahead. Gapless series do not; this is why legal numbering must not use a sequence.
  int64_t after = c.must("SELECT nextval('probe_seq')").int8();
  EXPECT_GT(after, probe + 1) << "expected the plain sequence to jump ahead after promotion";
  std::cout << "[ note     ] standby promoted with " << v.rows << " committed rows (" << acknowledged
            << " acknowledged before the probe); plain sequence: last committed " << probe << ", next after promotion "
            << after << "\n";

  // The promoted server takes writes and keeps numbering under load.
  {
    Load again(standby->conninfo(), 16, 15);
    again.join();
    EXPECT_EQ(again.errors(), 0);
  }
  Workload::verify(c, v.rows + 4);
}

// --- 3. pg_dump / pg_restore, DROP EXTENSION / CREATE EXTENSION --------------------------

std::string rows_of(Conn& c, const std::string& sql) {
  Result r = c.must(sql);
  std::string out;
  for (int i = 0; i < r.rows(); i++) {
    out += r.text(i, 0);
    out += "\n";
  }
  return out;
}

// Everything of schema seqguard and every seqguard function or view, as text.
std::string seqguard_objects(Conn& c) {
  return rows_of(c,
                 "SELECT kind || ' ' || name FROM ("
                 "  SELECT 'relation' AS kind, c.oid::regclass::text AS name FROM pg_class c "
                 "   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'seqguard' "
                 "  UNION ALL SELECT 'schema', nspname FROM pg_namespace WHERE nspname = 'seqguard' "
                 "  UNION ALL SELECT 'function', p.oid::regprocedure::text FROM pg_proc p "
                 "   WHERE p.proname LIKE 'seqguard%' OR p.proname = 'next_formatted_id' "
                 "  UNION ALL SELECT 'view', c.oid::regclass::text FROM pg_class c WHERE c.relname LIKE 'seqguard%' "
                 "   AND c.relnamespace <> (SELECT oid FROM pg_namespace WHERE nspname = 'seqguard')"
                 ") o ORDER BY 1");
}

TEST(Reliability, DumpAndRestoreKeepNumberingAndTheExtensionDropsCleanly) {
  Cluster& cluster = Cluster::shared();
  std::string src = cluster.fresh_database("rel_dump_src");
  {
    Conn c(src);
    Workload::setup(c);
    // A series bound to a column, and a sync after the restore, too.
    c.must("CREATE TABLE imported (no text)");
    c.must("INSERT INTO imported VALUES ('IMP-0041'), ('IMP-0007')");
    c.must("SELECT seqguard_create_series('IMP', 'IMP-{seq:4}', target_table => 'imported', target_column => 'no')");
  }
  {
    Load load(src, 16, 20);
    load.join();
    ASSERT_EQ(load.errors(), 0);
  }
  Conn s(src);
  int64_t rows = s.must("SELECT count(*) FROM wl").int8();
  const std::string series_sql = "SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', series, format, gapless, start_value, "
                                 "increment, on_overflow, target_table, target_column) FROM seqguard_series ORDER BY 1";
  const std::string counters_sql =
      "SELECT format('%s|%s|%s|%s', series, scope, period, last_value) FROM seqguard_counters ORDER BY 1";
  std::string series_before = rows_of(s, series_sql), counters_before = rows_of(s, counters_sql);
  int64_t fast_sequences = s.must("SELECT count(*) FROM pg_sequences WHERE schemaname = 'seqguard' AND sequencename LIKE 'counter\\_%'").int8();
  ASSERT_EQ(fast_sequences, (int64_t)(kScopes.size() * kDates.size()));

  std::string out;
  ASSERT_EQ(cluster.run_tool("pg_dump", "-Fc -d rel_dump_src -f " + cluster.dir() + "/rel_dump.custom", &out), 0)
      << out;
  {
    Conn pg(cluster.conninfo("postgres"));
    pg.must("DROP DATABASE IF EXISTS rel_dump_dst WITH (FORCE)");
    pg.must("CREATE DATABASE rel_dump_dst");
  }
  // --exit-on-error: any error of the restore fails the test, with its message.
  ASSERT_EQ(cluster.run_tool("pg_restore", "--exit-on-error -d rel_dump_dst " + cluster.dir() + "/rel_dump.custom", &out),
            0)
      << "pg_restore failed:\n"
      << out;

  Conn d(cluster.conninfo("rel_dump_dst"));
  EXPECT_EQ(rows_of(d, series_sql), series_before);
  EXPECT_EQ(rows_of(d, counters_sql), counters_before);
  EXPECT_EQ(d.must("SELECT count(*) FROM pg_sequences WHERE schemaname = 'seqguard' AND sequencename LIKE 'counter\\_%'").int8(), fast_sequences)
      << "fast counters' sequences were not restored";
  Verified v = Workload::verify(d, rows);
  EXPECT_EQ(v.rows, rows);
  {
    Load again(cluster.conninfo("rel_dump_dst"), 16, 10);
    again.join();
    EXPECT_EQ(again.errors(), 0);
  }
  Workload::verify(d, v.rows + 4);
  EXPECT_EQ(d.must("SELECT seqguard_sync_series('IMP')").int8(), 1);
  EXPECT_EQ(d.must("SELECT next_formatted_id('IMP')").text(), "IMP-0042");

  // DROP EXTENSION: the tables that use seqguard in their defaults depend on it, as they
  // should. Without them, what is left is seqguard's own state; but the sequences of
  // fast counters are created at run time, outside the extension, so PostgreSQL refuses
  // a plain DROP EXTENSION while they exist (2BP01) ...
  d.must("DROP TABLE wl, imported");
  Result refused = d.exec("DROP EXTENSION seqguard");
  EXPECT_EQ(refused.sqlstate(), "2BP01") << refused.error();
  EXPECT_NE(refused.error().find("seqguard.counter_"), std::string::npos) << refused.error();
  // ... and drops cleanly once the series are dropped: nothing of seqguard is left.
  d.must("SELECT count(seqguard_drop_series(series)) FROM seqguard_series");
  d.must("DROP EXTENSION seqguard");
  EXPECT_EQ(seqguard_objects(d), "");
  d.must("CREATE EXTENSION seqguard");
  EXPECT_EQ(d.must("SELECT count(*) FROM seqguard_series").int8() + d.must("SELECT count(*) FROM seqguard_counters").int8(), 0);
  d.must("SELECT seqguard_create_series('W', 'W-{seq:7}')");
  EXPECT_EQ(d.must("SELECT next_formatted_id('W')").text(), "W-0000001");

  // DROP EXTENSION ... CASCADE drops the fast counters' sequences and the defaults that
  // use seqguard, and leaves nothing of seqguard behind either.
  s.must("DROP EXTENSION seqguard CASCADE");
  EXPECT_EQ(seqguard_objects(s), "");
  EXPECT_EQ(s.must("SELECT count(*) FROM wl").int8(), rows);
  s.must("CREATE EXTENSION seqguard");
  EXPECT_EQ(s.must("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'seqguard' AND c.relkind = 'S' AND c.relname LIKE 'counter\\_%'")
                .int8(),
            0);
}

}  // namespace
}  // namespace seqguard::test

namespace seqguard::test {
namespace {

// Idempotency keys are rows of the caller's transaction: a committed begin survives a
// crash and a dump/restore (with its job id, result and the job id sequence), a begin
// whose transaction never committed leaves no trace.
TEST(Reliability, IdempotencyKeysSurviveCrashAndDumpOnlyWhenCommitted) {
  Cluster& cluster = Cluster::shared();
  std::string db = cluster.fresh_database("rel_idem");
  int64_t job_done = 0, job_running = 0;
  {
    Conn c(db);
    job_done = c.must("SELECT job_id FROM seqguard_idem_begin('done')").int8();
    c.must("SELECT seqguard_idem_complete('done', " + std::to_string(job_done) + ", '{\"rows\": 7}')");
    job_running = c.must("SELECT job_id FROM seqguard_idem_begin('running', lease => '1 hour')").int8();
    Conn open(db);
    open.must("BEGIN");
    open.must("SELECT seqguard_idem_begin('uncommitted')");
    cluster.crash_and_restart();  // `open` never commits
  }
  Conn c(db);
  EXPECT_EQ(c.must("SELECT status || ':' || result::text FROM seqguard_idem_get('done')").text(),
            "completed:{\"rows\": 7}");
  EXPECT_EQ(c.must("SELECT status || ':' || job_id FROM seqguard_idem_get('running')").text(),
            "in_progress:" + std::to_string(job_running));
  EXPECT_EQ(c.must("SELECT count(*) FROM seqguard_idem_get('uncommitted')").int8(), 0);
  // The key that never committed is free: a new caller starts it.
  EXPECT_EQ(c.must("SELECT status FROM seqguard_idem_begin('uncommitted')").text(), "started");

  std::string out;
  ASSERT_EQ(cluster.run_tool("pg_dump", "-Fc -d rel_idem -f " + cluster.dir() + "/rel_idem.custom", &out), 0) << out;
  {
    Conn pg(cluster.conninfo("postgres"));
    pg.must("DROP DATABASE IF EXISTS rel_idem_dst WITH (FORCE)");
    pg.must("CREATE DATABASE rel_idem_dst");
  }
  ASSERT_EQ(cluster.run_tool("pg_restore", "--exit-on-error -d rel_idem_dst " + cluster.dir() + "/rel_idem.custom", &out),
            0)
      << out;
  Conn d(cluster.conninfo("rel_idem_dst"));
  EXPECT_EQ(d.must("SELECT status || ':' || job_id || ':' || result::text FROM seqguard_idem_begin('done')").text(),
            "completed:" + std::to_string(job_done) + ":{\"rows\": 7}");
  EXPECT_EQ(d.must("SELECT status FROM seqguard_idem_begin('running')").text(), "in_progress");
  // Job ids continue after the restore: no job id is handed out twice.
  int64_t fresh = d.must("SELECT job_id FROM seqguard_idem_begin('new after restore')").int8();
  EXPECT_GT(fresh, job_running);
}

}  // namespace
}  // namespace seqguard::test
