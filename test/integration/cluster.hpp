// A throwaway PostgreSQL cluster for the libpq integration tests, and a thin RAII
// connection. The cluster runs on a private Unix socket directory and port, as the
// `postgres` user when the tests run as root (PostgreSQL refuses root), and the test
// binary fails if its log shows a backend killed by a signal it did not send.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqguard::test {

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~Result() {
    if (r_) PQclear(r_);
  }
  bool ok() const;
  std::string sqlstate() const;  // "" when ok
  std::string error() const;
  int rows() const { return PQntuples(r_); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string text(int row = 0, int col = 0) const { return PQgetvalue(r_, row, col); }
  int64_t int8(int row = 0, int col = 0) const { return std::stoll(PQgetvalue(r_, row, col)); }

 private:
  PGresult* r_;
};

class Conn {
 public:
  explicit Conn(const std::string& conninfo);
  Conn(Conn&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  ~Conn();
  // Runs one command; never throws for SQL errors: check ok()/sqlstate().
  Result exec(const std::string& sql);
  Result exec(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // Runs and throws std::runtime_error (with the SQL and the message) unless it succeeds.
  Result must(const std::string& sql);
  int backend_pid();
  bool alive();
  PGconn* raw() { return c_; }

 private:
  PGconn* c_;
};

class Cluster {
 public:
  // The cluster of this test binary, started on first use and stopped at exit.
  static Cluster& shared();

  std::string conninfo(const std::string& dbname = "seqguard_it") const;
  Conn connect(const std::string& dbname = "seqguard_it") const { return Conn(conninfo(dbname)); }

  // A fresh database with the extension created in it (dropped first if it exists).
  std::string fresh_database(const std::string& name);

  void stop(const char* mode = "fast");
  void start();
  // Simulates a crash of the whole server: pg_ctl stop -m immediate, then start.
  void crash_and_restart();
  // Tests that kill a backend on purpose declare it, so the log check allows it.
  void expect_killed_backends(int n) { expected_kills_ += n; }

  // Backends killed by a signal according to the server log, beyond the expected ones.
  std::vector<std::string> unexpected_signal_lines() const;
  std::string log_tail(int lines = 40) const;

  // --- More clusters beside the shared one (replica and dump/restore tests) ---------
  // Another throwaway cluster, configured like the shared one (with database
  // seqguard_it and the extension in it), on its own directory and `port`. Stopped and
  // removed when destroyed, which also fails the running test if its log shows a
  // backend killed by a signal that was not declared with expect_killed_backends().
  static std::unique_ptr<Cluster> create(int port);
  // A streaming standby of this cluster on `port`: pg_basebackup -R over this cluster's
  // Unix socket into a directory of its own, then started (hot standby).
  std::unique_ptr<Cluster> create_standby(int port) const;
  // pg_ctl promote -w: the standby leaves recovery and accepts writes.
  void promote();
  // Waits until the server accepts connections to `dbname` again (after the postmaster
  // restarted all backends, or after start); false after `seconds`.
  bool wait_ready(int seconds = 60, const std::string& dbname = "postgres") const;
  // Runs a program of the server's bindir (pg_dump, pg_restore, ...) against this
  // cluster's socket as the user the cluster runs as; `args` must not contain single
  // quotes. Returns the exit status; stdout and stderr go to *output when given.
  int run_tool(const std::string& tool, const std::string& args, std::string* output = nullptr) const;
  // The directory that holds data/, server.log and the socket; owned by the server's user.
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }

  ~Cluster();

 private:
  Cluster();
  struct Extra {};
  Cluster(Extra, int port, const Cluster* primary);
  int run(const std::string& cmd, bool as_pg_user = true) const;
  // Steps every cluster shares: a private directory the server user owns, an initdb,
  // and the lines that keep it on its own Unix socket and port (plus `extra`).
  void make_dir();
  void init_data_dir();
  void append_conf(const std::string& extra);

  std::string dir_;
  std::string bindir_;
  int port_;
  bool running_ = false;
  bool shared_ = true;
  int expected_kills_ = 0;
};

// The standard output of a shell command, without its trailing newlines and spaces.
std::string capture(const std::string& cmd);

// Asserts that every row of `tbl` has an ID in its column `id` ("X-000123") and that
// the numbers are exactly 1..n, no hole and no duplicate; returns n.
int64_t expect_gapless_ids(Conn& c, const std::string& tbl);

// Runs 8 sessions that insert 1 to 4 rows per transaction into `table` (setting
// `worker_column`), rolling back a fifth of them, until `min_commits` transactions have
// committed; then stops the server with -m immediate (a crash) and starts it again.
// Returns once every session has seen the server go away.
void insert_until_crash(const std::string& conninfo, const std::string& table, const std::string& worker_column,
                        int min_commits);

}  // namespace seqguard::test
