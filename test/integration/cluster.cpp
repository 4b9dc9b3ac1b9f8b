#include "cluster.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <set>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

namespace seqguard::test {

bool Result::ok() const {
  if (!r_) return false;
  auto st = PQresultStatus(r_);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

std::string Result::sqlstate() const {
  if (ok()) return "";
  const char* s = r_ ? PQresultErrorField(r_, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "?????";
}

std::string Result::error() const { return r_ ? PQresultErrorMessage(r_) : "no result"; }

Conn::Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c_);
    PQfinish(c_);
    c_ = nullptr;
    throw std::runtime_error("connection failed: " + msg);
  }
  // Tests assert on results; server chatter (such as the WARNING every client gets at an
  // immediate shutdown) would only clutter their output.
  PQsetNoticeProcessor(c_, [](void*, const char*) {}, nullptr);
}

Conn::~Conn() {
  if (c_) PQfinish(c_);
}

Result Conn::exec(const std::string& sql) { return Result(PQexec(c_, sql.c_str())); }

Result Conn::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return Result(PQexecParams(c_, sql.c_str(), (int)values.size(), nullptr, values.data(), nullptr, nullptr, 0));
}

Result Conn::must(const std::string& sql) {
  Result r = exec(sql);
  if (!r.ok()) throw std::runtime_error("SQL failed: " + sql + "\n" + r.error());
  return r;
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

int Conn::backend_pid() { return PQbackendPID(c_); }

bool Conn::alive() { return c_ && PQstatus(c_) == CONNECTION_OK; }

namespace {

// Stops the shared cluster when the test binary ends, and fails the run if the server
// log shows a backend that died of a signal nobody sent on purpose.
class ClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    Cluster& c = Cluster::shared();
    auto lines = c.unexpected_signal_lines();
    for (auto& l : lines) ADD_FAILURE() << "server log shows a backend killed by a signal: " << l;
    if (!lines.empty()) std::cerr << c.log_tail() << "\n";
  }
};
const auto* env = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

}  // namespace

void Cluster::make_dir() {
  char tmpl[] = "/tmp/seqguard-it-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);
  if (geteuid() == 0) run("chown postgres:postgres " + dir_, false);
}

void Cluster::init_data_dir() {
  std::string initdb = bindir_ + "/initdb -D " + dir_ + "/data -A trust -U postgres --no-sync -E UTF8 >" + dir_ +
                       "/initdb.log 2>&1";
  if (run(initdb) != 0) throw std::runtime_error("initdb failed, see " + dir_ + "/initdb.log");
}

void Cluster::append_conf(const std::string& extra) {
  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "listen_addresses = ''\n"
       << "unix_socket_directories = '" << dir_ << "'\n"
       << "port = " << port_ << "\n"
       << "max_connections = 120\n"
       << "fsync = off\n"
       << "max_prepared_transactions = 4\n"
       << "log_line_prefix = '%m [%p] '\n"
       << extra;
}

Cluster& Cluster::shared() {
  static Cluster cluster;
  return cluster;
}

int Cluster::run(const std::string& cmd, bool as_pg_user) const {
  std::string full = cmd;
  if (as_pg_user && geteuid() == 0) full = "runuser -u postgres -- sh -c '" + cmd + "'";
  return std::system(full.c_str());
}

Cluster::Cluster() {
  const char* pgc = std::getenv("PG_CONFIG");
  bindir_ = capture(std::string(pgc ? pgc : "pg_config") + " --bindir");
  make_dir();
  const char* port = std::getenv("SEQGUARD_IT_PORT");
  port_ = port ? std::atoi(port) : 20000 + (int)(getpid() % 20000);
  init_data_dir();
  append_conf("");
  start();
  Conn c(conninfo("postgres"));
  c.must("DROP DATABASE IF EXISTS seqguard_it");
  c.must("CREATE DATABASE seqguard_it");
  Conn it(conninfo());
  it.must("CREATE EXTENSION seqguard");
}

Cluster::~Cluster() {
  if (!shared_) {
    // The shared cluster is checked by ClusterEnvironment; the others when they go.
    for (auto& l : unexpected_signal_lines())
      ADD_FAILURE() << "server log of " << dir_ << " shows a backend killed by a signal: " << l;
  }
  if (running_) stop("fast");
  if (!std::getenv("SEQGUARD_IT_KEEP")) run("rm -rf " + dir_, false);
}

std::string Cluster::conninfo(const std::string& dbname) const {
  return "host=" + dir_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

std::string Cluster::fresh_database(const std::string& name) {
  Conn c(conninfo("postgres"));
  c.must("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  c.must("CREATE DATABASE " + name);
  Conn db(conninfo(name));
  db.must("CREATE EXTENSION seqguard");
  return conninfo(name);
}

void Cluster::start() {
  std::string cmd = bindir_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 start >/dev/null";
  if (run(cmd) != 0) throw std::runtime_error("pg_ctl start failed:\n" + log_tail());
  running_ = true;
}

void Cluster::stop(const char* mode) {
  std::string cmd = bindir_ + "/pg_ctl -D " + dir_ + "/data -m " + mode + " -w -t 60 stop >/dev/null";
  run(cmd);
  running_ = false;
}

void Cluster::crash_and_restart() {
  stop("immediate");
  start();
}

std::vector<std::string> Cluster::unexpected_signal_lines() const {
  std::ifstream log(dir_ + "/server.log");
  std::vector<std::string> out;
  std::string line;
  int kills = 0;
  static const std::regex re("terminated by signal ([0-9]+)");
  std::smatch m;
  while (std::getline(log, line)) {
    if (!std::regex_search(line, m, re)) continue;
    if (m[1] == "9" && kills < expected_kills_) {
      kills++;
      continue;
    }
    out.push_back(line);
  }
  return out;
}

std::string Cluster::log_tail(int lines) const {
  return capture("tail -n " + std::to_string(lines) + " " + dir_ + "/server.log");
}

// --- More clusters beside the shared one -------------------------------------------

Cluster::Cluster(Extra, int port, const Cluster* primary) : port_(port), shared_(false) {
  const char* pgc = std::getenv("PG_CONFIG");
  bindir_ = capture(std::string(pgc ? pgc : "pg_config") + " --bindir");
  make_dir();
  if (primary) {
    // -R writes primary_conninfo (the primary's socket directory and port) and
    // standby.signal; -X stream copies the WAL written during the backup too.
    std::string cmd = bindir_ + "/pg_basebackup -D " + dir_ + "/data -R -X stream -c fast -h " + primary->dir_ +
                      " -p " + std::to_string(primary->port_) + " -U postgres >" + dir_ + "/basebackup.log 2>&1";
    if (run(cmd) != 0) throw std::runtime_error("pg_basebackup failed, see " + dir_ + "/basebackup.log");
  } else {
    init_data_dir();
  }
  // Appended lines win over the primary's copied ones: own socket directory and port.
  // Unix sockets only: nothing listens on the network.
  append_conf("wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n");
  start();
  if (primary) return;
  Conn c(conninfo("postgres"));
  c.must("CREATE DATABASE seqguard_it");
  Conn it(conninfo());
  it.must("CREATE EXTENSION seqguard");
}

std::unique_ptr<Cluster> Cluster::create(int port) {
  return std::unique_ptr<Cluster>(new Cluster(Extra{}, port, nullptr));
}

std::unique_ptr<Cluster> Cluster::create_standby(int port) const {
  return std::unique_ptr<Cluster>(new Cluster(Extra{}, port, this));
}

void Cluster::promote() {
  std::string cmd = bindir_ + "/pg_ctl -D " + dir_ + "/data -w -t 60 promote >/dev/null";
  if (run(cmd) != 0) throw std::runtime_error("pg_ctl promote failed:\n" + log_tail());
}

bool Cluster::wait_ready(int seconds, const std::string& dbname) const {
  std::string info = conninfo(dbname) + " connect_timeout=2";
  for (int i = 0; i < seconds * 10; i++) {
    PGconn* c = PQconnectdb(info.c_str());
    bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    if (ok) return true;
    usleep(100 * 1000);
  }
  return false;
}

int Cluster::run_tool(const std::string& tool, const std::string& args, std::string* output) const {
  std::string out = dir_ + "/" + tool + ".out";
  std::string cmd = bindir_ + "/" + tool + " -h " + dir_ + " -p " + std::to_string(port_) + " -U postgres " + args +
                    " >" + out + " 2>&1";
  int status = run(cmd);
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (output) {
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
  }
  return rc;
}

int64_t expect_gapless_ids(Conn& c, const std::string& tbl) {
  EXPECT_EQ(c.must("SELECT count(*) FROM " + tbl + " WHERE id IS NULL").int8(), 0) << "committed rows without an ID";
  Result r = c.must("SELECT id FROM " + tbl + " WHERE id IS NOT NULL");
  std::set<int64_t> seen;
  for (int i = 0; i < r.rows(); i++) {
    const std::string id = r.text(i);
    bool fresh = seen.insert(std::stoll(id.substr(id.find('-') + 1))).second;
    EXPECT_TRUE(fresh) << "duplicate ID " << id;
  }
  int64_t n = (int64_t)seen.size();
  if (n > 0) {
    EXPECT_EQ(*seen.begin(), 1) << "numbering must start at 1";
    EXPECT_EQ(*seen.rbegin(), n) << "committed IDs have a hole: " << n << " IDs, largest " << *seen.rbegin();
  }
  return n;
}

void insert_until_crash(const std::string& conninfo, const std::string& table, const std::string& worker_column,
                        int min_commits) {
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; w++) {
    threads.emplace_back([&, w] {
      try {
        Conn c(conninfo);
        std::mt19937 rng(w);
        while (!stop && c.alive()) {
          if (!c.exec("BEGIN").ok()) break;
          c.exec("INSERT INTO " + table + " (" + worker_column + ") SELECT " + std::to_string(w) +
                 " FROM generate_series(1, " + std::to_string(1 + rng() % 4) + ")");
          if (rng() % 5 == 0) {
            c.exec("ROLLBACK");
          } else if (c.exec("COMMIT").ok()) {
            commits++;
          }
        }
      } catch (const std::exception&) {
        // The server went away under us: that is the point.
      }
    });
  }
  while (commits < min_commits) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Cluster::shared().crash_and_restart();
  stop = true;
  for (auto& t : threads) t.join();
}

}  // namespace seqguard::test
