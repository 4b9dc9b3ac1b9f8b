// Automatic failover with pg_auto_failover, under load: a monitor and two data nodes
// (synchronous replication, pg_auto_failover's default for two nodes), six sessions that
// insert rows whose IDs come from a gapless series, a fast series, a serial and an
// identity column, and three primary changes while they do: `pg_autoctl perform
// failover`, the loss of the primary (kill -9 of its whole process group: keeper,
// postmaster and backends), its return as a standby, and `perform failover` again, which
// promotes the node that was killed. The sessions reconnect through one multi-host
// connection string with target_session_attrs=read-write, as an application would.
//
// Afterwards, on the last primary: every ID whose COMMIT was acknowledged is there with
// the values the client saw, the gapless IDs are exactly 1..N, nothing is duplicated, no
// session ever saw a unique violation, the next gapless ID is N+1 and every sequence is
// past its column's largest value. The figures (IDs, time to a new primary, how far the
// sequences jumped) are printed as "failover: ..." lines; docs/scale-out.md quotes them.
//
// Needs pg_autoctl and the pgautofailover extension of the server's major (Debian:
// postgresql-N-auto-failover, which scripts/test installs). Without them the test is
// skipped with a message, or fails when SEQGUARD_IT_REQUIRE_FAILOVER is set.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <iomanip>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"

namespace seqguard::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A TCP port on the loopback interface that nothing uses now. The nodes must reach one
// another over TCP (pg_auto_failover's health checks and replication name a host), and
// the engineers' roots on one machine share its loopback interface: a port derived from
// the pid, as the Unix-socket clusters use, could be taken.
int free_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, (sockaddr*)&a, sizeof a) != 0 || getsockname(s, (sockaddr*)&a, &len) != 0)
    throw std::runtime_error("no free loopback port");
  int port = ntohs(a.sin_port);
  close(s);
  return port;
}

// One acknowledged row, as the client saw it.
struct Ack {
  std::string g, f;
  int64_t s = 0, i = 0;
  int port = 0;               // the node that acknowledged it
  Clock::time_point at;       // when COMMIT returned
};

int64_t number_of(const std::string& id) { return std::stoll(id.substr(id.find('-') + 1)); }

// A monitor and two data nodes in one private directory, each run by its own
// `pg_autoctl run` in a process group of its own (so that the loss of a node is one
// kill(-pgid, SIGKILL)). Everything is stopped and removed when destroyed.
class AutoFailover {
 public:
  AutoFailover() {
    const char* pgc = std::getenv("PG_CONFIG");
    bindir_ = capture(std::string(pgc ? pgc : "pg_config") + " --bindir");
    char tmpl[] = "/tmp/seqguard-failover-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    if (geteuid() == 0) std::system(("chown postgres:postgres " + dir_).c_str());
    for (const char* sub : {"config", "share", "run"}) run("mkdir -p " + dir_ + "/" + sub);
    monitor_port_ = free_loopback_port();
  }

  ~AutoFailover() {
    for (const char* name : {"node1", "node2", "monitor"}) stop(name);
    if (!std::getenv("SEQGUARD_IT_KEEP")) std::system(("rm -rf " + dir_).c_str());
  }

  // Runs a shell command as the user the servers run as, with pg_autoctl's
  // configuration, state and pid files kept inside the private directory; a command
  // still running after two minutes is stopped (a test must end).
  int run(const std::string& cmd, std::string* output = nullptr) const {
    std::string env = "XDG_CONFIG_HOME=" + dir_ + "/config XDG_DATA_HOME=" + dir_ + "/share XDG_RUNTIME_DIR=" + dir_ +
                      "/run PGHOST=" + dir_;
    std::string out = dir_ + "/last-command.out";
    std::string full = "cd / && timeout 120 env " + env + " " + cmd + " >" + out + " 2>&1";
    if (geteuid() == 0) full = "cd / && runuser -u postgres -- sh -c '" + full + "'";
    int status = std::system(full.c_str());
    if (output) {
      std::ifstream in(out);
      std::stringstream ss;
      ss << in.rdbuf();
      *output = ss.str();
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void must_run(const std::string& cmd) const {
    std::string out;
    if (run(cmd, &out) != 0) throw std::runtime_error("failed: " + cmd + "\n" + out);
  }

  // initdb first, so that pg_autoctl adopts a data directory sized for a test (it would
  // otherwise size shared_buffers from the machine's memory) with its sockets here.
  void initdb(const std::string& name) {
    must_run(bindir_ + "/initdb -D " + dir_ + "/" + name + " -A trust -U postgres --no-sync -E UTF8");
    std::ofstream conf(dir_ + "/" + name + "/postgresql.conf", std::ios::app);
    conf << "unix_socket_directories = '" << dir_ << "'\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "fsync = off\n"  // the test kills processes, never the machine
         << "log_line_prefix = '%m [%p] '\n";
  }

  void create_monitor() {
    initdb("monitor");
    {
      // The defaults take about 34 s from losing the primary to a writable new one:
      // health checks every 5 s, 20 s before a node counts as unhealthy, and 30 s for a
      // primary that does not answer to be considered demoted. The last one bounds how
      // long a lost primary might still accept writes, so it must stay above the data
      // nodes' own reaction time (they poll the monitor every second here).
      std::ofstream conf(dir_ + "/monitor/postgresql.conf", std::ios::app);
      conf << "pgautofailover.health_check_period = 1000\n"
           << "pgautofailover.health_check_timeout = 1000\n"
           << "pgautofailover.health_check_max_retries = 1\n"
           << "pgautofailover.health_check_retry_delay = 500\n"
           << "pgautofailover.node_considered_unhealthy_timeout = 2000\n"
           << "pgautofailover.startup_grace_period = 2000\n"
           << "pgautofailover.primary_demote_timeout = 5000\n";
    }
    must_run("pg_autoctl create monitor --pgdata " + dir_ + "/monitor --pgport " + std::to_string(monitor_port_) +
             " --pgctl " + bindir_ + "/pg_ctl --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl");
    start("monitor");
  }

  // The first node adopts a data directory made by initdb; the second is a
  // pg_basebackup of the primary that pg_autoctl makes itself.
  void create_node(const std::string& name, bool first) {
    int port = free_loopback_port();
    if (first) initdb(name);
    must_run("pg_autoctl create postgres --pgdata " + dir_ + "/" + name + " --pgport " + std::to_string(port) +
             " --pghost " + dir_ + " --listen 127.0.0.1 --hostname 127.0.0.1 --auth trust --no-ssl --pgctl " +
             bindir_ + "/pg_ctl --username postgres --dbname app --name " + name +
             " --monitor postgres://autoctl_node@127.0.0.1:" + std::to_string(monitor_port_) +
             "/pg_auto_failover?sslmode=disable");
    // How long a primary that cannot reach the monitor nor its standby keeps running as
    // primary: below the monitor's primary_demote_timeout, so that it has stopped
    // before the standby is promoted (default 20 s against 30 s).
    must_run("pg_autoctl config set --pgdata " + dir_ + "/" + name + " timeout.network_partition_timeout 2");
    ports_[name] = port;
    start(name);
  }

  // `pg_autoctl run` in a new session, logging to <name>.log.
  void start(const std::string& name) {
    std::string log = dir_ + "/" + name + ".log";
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      setsid();
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      if (chdir("/") != 0) _exit(127);
      std::string cmd = "exec env XDG_CONFIG_HOME=" + dir_ + "/config XDG_DATA_HOME=" + dir_ +
                        "/share XDG_RUNTIME_DIR=" + dir_ + "/run PGHOST=" + dir_ + " pg_autoctl run --pgdata " + dir_ +
                        "/" + name;
      if (geteuid() == 0)
        execlp("runuser", "runuser", "-u", "postgres", "--", "sh", "-c", cmd.c_str(), (char*)nullptr);
      else
        execlp("sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
      _exit(127);
    }
    pgids_[name] = pid;
  }

  // The loss of a machine: keeper, postmaster and backends die at once, nothing is
  // flushed or demoted.
  void kill_node(const std::string& name) {
    pid_t pgid = pgids_.at(name);
    kill(-pgid, SIGKILL);
    waitpid(pgid, nullptr, 0);
    pgids_.erase(name);
  }

  void stop(const std::string& name) {
    auto it = pgids_.find(name);
    if (it == pgids_.end()) return;
    pid_t pgid = it->second;
    run("pg_autoctl stop --pgdata " + dir_ + "/" + name);
    for (int i = 0; i < 300; i++) {
      if (waitpid(pgid, nullptr, WNOHANG) == pgid) break;
      std::this_thread::sleep_for(100ms);
    }
    // Whatever did not stop in 30 s (and any process left in the group) is killed.
    kill(-pgid, SIGKILL);
    waitpid(pgid, nullptr, WNOHANG);
    pgids_.erase(name);
  }

  std::string monitor_conninfo() const {
    return "host=" + dir_ + " port=" + std::to_string(monitor_port_) + " user=postgres dbname=pg_auto_failover";
  }
  std::string node_conninfo(const std::string& name) const {
    return "host=127.0.0.1 port=" + std::to_string(ports_.at(name)) + " user=postgres dbname=app connect_timeout=2";
  }
  // What the application uses: both nodes, and only the one that accepts writes.
  std::string app_conninfo() const {
    return "host=127.0.0.1,127.0.0.1 port=" + std::to_string(ports_.at("node1")) + "," +
           std::to_string(ports_.at("node2")) +
           " user=postgres dbname=app target_session_attrs=read-write connect_timeout=2";
  }

  // The node the monitor has settled as primary with the other one as its secondary,
  // after waiting up to `seconds` for that; "" if it did not settle.
  std::string wait_settled(int seconds) const {
    auto until = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < until) {
      try {
        Conn m(monitor_conninfo());
        Result r = m.must(
            "SELECT nodename, reportedstate FROM pgautofailover.node "
            "WHERE reportedstate::text = goalstate::text ORDER BY reportedstate::text");
        if (r.rows() == 2 && r.text(0, 1) == "primary" && r.text(1, 1) == "secondary") return r.text(0, 0);
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(200ms);
    }
    return "";
  }

  // Waits until `standby` replicates `primary` synchronously and has replayed all the
  // primary had written when the wait began. The monitor reports a node rejoining after
  // a crash as "secondary" once it streams, and under load that came (one run in a few
  // on two busy cores) before it had the new primary's writes, so a switch-over right
  // then lost everything the new primary had acknowledged alone. A planned switch-over
  // is only safe from a caught-up synchronous standby, which is what this waits for.
  bool wait_caught_up(const std::string& primary, const std::string& standby, int seconds) const {
    auto until = Clock::now() + std::chrono::seconds(seconds);
    std::string target;
    while (Clock::now() < until) {
      try {
        Conn p(node_conninfo(primary));
        if (p.must("SHOW synchronous_standby_names").text().empty() ||
            p.must("SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')").int8() == 0) {
          std::this_thread::sleep_for(200ms);
          continue;
        }
        if (target.empty()) target = p.must("SELECT pg_current_wal_lsn()::text").text();
        Conn s(node_conninfo(standby));
        if (s.exec("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {target}).text() == "t") return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // Waits until the monitor reports node `name` in `state`, as assigned.
  bool wait_state(const std::string& name, const std::string& state, int seconds) const {
    auto until = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < until) {
      try {
        Conn m(monitor_conninfo());
        Result r = m.exec(
            "SELECT 1 FROM pgautofailover.node WHERE nodename = $1 AND reportedstate::text = $2 "
            "AND goalstate::text = $2",
            {name, state});
        if (r.ok() && r.rows() == 1) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  std::string state() const {
    std::string out;
    run("pg_autoctl show state --pgdata " + dir_ + "/monitor", &out);
    return out;
  }
  std::string log_tail(const std::string& name, int lines = 30) const {
    return capture("tail -n " + std::to_string(lines) + " " + dir_ + "/" + name + ".log");
  }

  int port(const std::string& name) const { return ports_.at(name); }
  const std::string& dir() const { return dir_; }

 private:
  std::string bindir_, dir_;
  int monitor_port_ = 0;
  std::map<std::string, int> ports_;
  std::map<std::string, pid_t> pgids_;
};

bool autoctl_available(std::string* why) {
  const char* pgc = std::getenv("PG_CONFIG");
  std::string pg_config = pgc ? pgc : "pg_config";
  std::string sharedir = capture(pg_config + " --sharedir");
  std::string major = capture(pg_config + " --version | sed 's/^PostgreSQL \\([0-9]*\\).*/\\1/'");
  struct stat st;
  if (capture("command -v pg_autoctl").empty() || stat((sharedir + "/extension/pgautofailover.control").c_str(), &st)) {
    *why = "pg_auto_failover is not installed for PostgreSQL " + major + " (Debian: postgresql-" + major +
           "-auto-failover)";
    return false;
  }
  return true;
}

// The load: `kSessions` sessions, each inserting 1 to 3 rows per transaction until told
// to stop, reconnecting through app_conninfo() after any error.
constexpr int kSessions = 6;

class Load {
 public:
  explicit Load(std::string conninfo) : conninfo_(std::move(conninfo)) {
    for (int w = 0; w < kSessions; w++) threads_.emplace_back([this, w] { session(w); });
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  // Waits until `n` more transactions have been acknowledged by the node on `port` (any
  // node when 0); false after `seconds`.
  bool wait_commits(int n, int port, int seconds) {
    auto until = Clock::now() + std::chrono::seconds(seconds);
    int start = commits_on(port);
    while (Clock::now() < until) {
      if (commits_on(port) >= start + n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // The first acknowledgement by the node on `port` at or after `since`.
  std::optional<Clock::time_point> first_ack(int port, Clock::time_point since) {
    std::lock_guard<std::mutex> g(mu_);
    std::optional<Clock::time_point> best;
    for (auto& a : acks_)
      if (a.port == port && a.at >= since && (!best || a.at < *best)) best = a.at;
    return best;
  }

  std::vector<Ack> acks() {
    std::lock_guard<std::mutex> g(mu_);
    return acks_;
  }
  std::map<std::string, int> errors() {
    std::lock_guard<std::mutex> g(mu_);
    return errors_;
  }
  int reconnects() const { return reconnects_; }

 private:
  int commits_on(int port) {
    std::lock_guard<std::mutex> g(mu_);
    return port == 0 ? commits_total_ : commits_[port];
  }

  void session(int w) {
    std::mt19937 rng(w);
    std::unique_ptr<Conn> c;
    while (!stop_) {
      if (!c) {
        try {
          c = std::make_unique<Conn>(conninfo_);
          reconnects_++;
        } catch (const std::exception&) {
          std::this_thread::sleep_for(50ms);
          continue;
        }
      }
      int rows = 1 + (int)(rng() % 3);
      Result ins(nullptr);
      bool ok = c->exec("BEGIN").ok();
      if (ok) {
        ins = c->exec("INSERT INTO fo (w) SELECT " + std::to_string(w) + " FROM generate_series(1, " +
                      std::to_string(rows) + ") RETURNING g, f, s, i, inet_server_port()");
        ok = ins.ok();
      }
      Result commit = ok ? c->exec("COMMIT") : Result(nullptr);
      if (ok && commit.ok()) {
        auto now = Clock::now();
        std::lock_guard<std::mutex> g(mu_);
        for (int r = 0; r < ins.rows(); r++)
          acks_.push_back({ins.text(r, 0), ins.text(r, 1), ins.int8(r, 2), ins.int8(r, 3), (int)ins.int8(r, 4), now});
        commits_[(int)ins.int8(0, 4)]++;
        commits_total_++;
        continue;
      }
      // Any failure (the server went away, was demoted to read-only, shut down): count
      // it, drop the session and let target_session_attrs find the writable node.
      // "?????": the connection was lost, the server sent no SQLSTATE.
      std::string state = ok ? commit.sqlstate() : ins.sqlstate();
      {
        std::lock_guard<std::mutex> g(mu_);
        errors_[state]++;
      }
      c.reset();
    }
  }

  std::string conninfo_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  std::mutex mu_;
  std::vector<Ack> acks_;
  std::map<int, int> commits_;
  int commits_total_ = 0;
  std::map<std::string, int> errors_;
};

// The largest step between consecutive values present: how far a sequence jumped.
int64_t largest_jump(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  int64_t jump = 0;
  for (std::size_t k = 1; k < v.size(); k++) jump = std::max(jump, v[k] - v[k - 1]);
  return jump;
}

TEST(Failover, AcknowledgedIdsSurviveThreePrimaryChangesUnderLoad) {
  std::string why;
  if (!autoctl_available(&why)) {
    if (std::getenv("SEQGUARD_IT_REQUIRE_FAILOVER")) FAIL() << why;
    std::cout << "failover: skipped: " << why << "\n";
    GTEST_SKIP() << why;
  }
  auto started = Clock::now();
  AutoFailover af;
  af.create_monitor();
  af.create_node("node1", true);
  ASSERT_TRUE(af.wait_state("node1", "single", 60)) << af.state() << af.log_tail("node1");
  af.create_node("node2", false);
  std::string primary = af.wait_settled(90);
  ASSERT_FALSE(primary.empty()) << "the nodes did not settle as primary and secondary:\n" << af.state();
  std::cout << "failover: monitor and two data nodes ready in " << (int)seconds_since(started) << " s\n";

  {
    Conn c(af.app_conninfo());
    // The data nodes must replicate synchronously: an acknowledged COMMIT is then on
    // both. pg_auto_failover sets this on the primary once a secondary is healthy.
    ASSERT_NE(c.must("SHOW synchronous_standby_names").text(), "") << af.state();
    ASSERT_EQ(c.must("SHOW synchronous_commit").text(), "on");
    c.must("CREATE EXTENSION seqguard");
    c.must("SELECT seqguard_create_series('G', 'G-{seq:7}')");
    c.must("SELECT seqguard_create_series('F', 'F-{seq:7}', gapless => false)");
    // No unique constraint but the gapless key's: a reissued fast, serial or identity
    // value must show up as a duplicate row, not be refused.
    c.must(
        "CREATE TABLE fo (g text PRIMARY KEY DEFAULT next_formatted_id('G'), "
        "f text NOT NULL DEFAULT next_formatted_id('F'), s serial NOT NULL, "
        "i bigint GENERATED ALWAYS AS IDENTITY, w int NOT NULL)");
  }

  Load load(af.app_conninfo());
  ASSERT_TRUE(load.wait_commits(300, 0, 60)) << "the load did not start";

  struct Change {
    std::string how, from, to;
    double seconds;  // from the start of the change to the first commit acknowledged by the new primary
  };
  std::vector<Change> changes;
  auto other = [](const std::string& n) { return n == "node1" ? std::string("node2") : std::string("node1"); };
  // Waits for the new primary's first acknowledged commits, then records the change.
  auto record = [&](const std::string& how, const std::string& from, Clock::time_point t0) {
    const std::string to = other(from);
    ASSERT_TRUE(load.wait_commits(200, af.port(to), 90))
        << how << ": " << to << " acknowledged no commits\n"
        << af.state() << "\n"
        << af.log_tail("monitor");
    auto first = load.first_ack(af.port(to), t0);
    ASSERT_TRUE(first.has_value());
    changes.push_back({how, from, to, std::chrono::duration<double>(*first - t0).count()});
  };

  // 1. A planned switch-over.
  {
    ASSERT_TRUE(af.wait_caught_up(primary, other(primary), 120)) << af.state();
    auto t0 = Clock::now();
    std::string out;
    ASSERT_EQ(af.run("pg_autoctl perform failover --wait 60 --pgdata " + af.dir() + "/monitor", &out), 0) << out;
    record("perform failover", primary, t0);
    if (HasFatalFailure()) return;
    primary = af.wait_settled(90);
    ASSERT_EQ(primary, changes.back().to) << af.state();
  }
  // 2. The primary is lost: no keeper to demote it, no shutdown checkpoint.
  {
    std::string lost = primary;
    auto t0 = Clock::now();
    af.kill_node(lost);
    record("kill -9 of the primary", lost, t0);
    if (HasFatalFailure()) return;
    // It comes back and rejoins as a standby (pg_rewind past what it wrote alone).
    af.start(lost);
    primary = af.wait_settled(120);
    ASSERT_EQ(primary, other(lost)) << lost << " did not rejoin as a secondary\n"
                                    << af.state() << "\n"
                                    << af.log_tail(lost);
  }
  // 3. A planned switch-over back to the node that was killed.
  {
    ASSERT_TRUE(af.wait_caught_up(primary, other(primary), 120))
        << other(primary) << " never caught up with " << primary << " synchronously\n"
        << af.state();
    auto t0 = Clock::now();
    std::string out;
    ASSERT_EQ(af.run("pg_autoctl perform failover --wait 60 --pgdata " + af.dir() + "/monitor", &out), 0) << out;
    record("perform failover", primary, t0);
    if (HasFatalFailure()) return;
  }
  load.stop();

  // --- What committed --------------------------------------------------------------
  std::vector<Ack> acks = load.acks();
  Conn c(af.app_conninfo());
  ASSERT_EQ(c.must("SELECT inet_server_port()").int8(), af.port(changes.back().to));
  Result rows = c.must("SELECT g, f, s, i FROM fo");
  std::map<std::string, Ack> present;
  std::set<int64_t> g_numbers;
  std::vector<int64_t> fs, ss, is;
  std::set<int64_t> f_set, s_set, i_set;
  for (int r = 0; r < rows.rows(); r++) {
    Ack a{rows.text(r, 0), rows.text(r, 1), rows.int8(r, 2), rows.int8(r, 3), 0, {}};
    EXPECT_TRUE(g_numbers.insert(number_of(a.g)).second) << "duplicate gapless ID " << a.g;
    EXPECT_TRUE(f_set.insert(number_of(a.f)).second) << "duplicate fast ID " << a.f;
    EXPECT_TRUE(s_set.insert(a.s).second) << "duplicate serial " << a.s;
    EXPECT_TRUE(i_set.insert(a.i).second) << "duplicate identity " << a.i;
    fs.push_back(number_of(a.f));
    ss.push_back(a.s);
    is.push_back(a.i);
    present[a.g] = a;
  }
  int64_t n = (int64_t)g_numbers.size();
  ASSERT_GT(n, 0);
  EXPECT_EQ(*g_numbers.begin(), 1) << "gapless IDs must start at 1";
  EXPECT_EQ(*g_numbers.rbegin(), n) << "gapless IDs have a hole: " << n << " IDs, largest " << *g_numbers.rbegin();

  int64_t missing = 0, altered = 0;
  for (auto& a : acks) {
    auto it = present.find(a.g);
    if (it == present.end()) {
      if (missing++ < 10) ADD_FAILURE() << "acknowledged ID " << a.g << " is missing after the failovers";
    } else if (it->second.f != a.f || it->second.s != a.s || it->second.i != a.i) {
      if (altered++ < 10) ADD_FAILURE() << "row " << a.g << " differs from what its COMMIT acknowledged";
    }
  }
  EXPECT_EQ(missing, 0) << "acknowledged IDs lost";
  EXPECT_EQ(altered, 0);
  auto errors = load.errors();
  EXPECT_EQ(errors.count("23505"), 0u) << "a session hit a unique violation: an ID was issued twice";

  // Numbering goes on from the data: the next gapless ID is N+1 (and given back by the
  // rollback), every sequence is past its column.
  c.must("BEGIN");
  EXPECT_EQ(c.must("SELECT next_formatted_id('G')").text(), "G-" + std::string(7 - std::to_string(n + 1).size(), '0') +
                                                                std::to_string(n + 1));
  EXPECT_GT(number_of(c.must("SELECT next_formatted_id('F')").text()), *f_set.rbegin());
  EXPECT_GT(c.must("SELECT nextval(pg_get_serial_sequence('fo', 's'))").int8(), *s_set.rbegin());
  EXPECT_GT(c.must("SELECT nextval(pg_get_serial_sequence('fo', 'i'))").int8(), *i_set.rbegin());
  c.must("ROLLBACK");
  EXPECT_EQ(c.must("SELECT count(*) FROM fo").int8(), n);

  // --- Figures for docs/scale-out.md -----------------------------------------------
  std::cout << "failover: " << kSessions << " sessions, " << changes.size() << " primary changes, " << acks.size()
            << " acknowledged IDs, " << n << " rows present (" << (n - (int64_t)acks.size())
            << " committed but never acknowledged), " << missing << " acknowledged IDs missing\n";
  for (auto& ch : changes)
    std::cout << "failover: " << ch.how << " (" << ch.from << " -> " << ch.to << "): first commit on the new primary "
              << std::fixed << std::setprecision(1) << ch.seconds << " s after the change began\n";
  std::cout << "failover: largest jump between consecutive values: fast series " << largest_jump(fs) << ", serial "
            << largest_jump(ss) << ", identity " << largest_jump(is) << "\n";
  std::cout << "failover: sessions reconnected " << load.reconnects() - kSessions << " times; errors seen:";
  for (auto& [state, count] : errors) std::cout << " " << state << " x" << count;
  std::cout << "\nfailover: whole test " << (int)seconds_since(started) << " s\n";
}

}  // namespace
}  // namespace seqguard::test
