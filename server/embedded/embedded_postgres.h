// A private PostgreSQL cluster in a data directory, started and stopped by Coplan.
//
// Used when no database URL is configured (the "one command" demo and small setups)
// and by the test suite for throwaway clusters:
//
//   EmbeddedPostgres::Options options;
//   options.data_dir = "/var/lib/coplan";
//   COPLAN_ASSIGN_OR_RETURN(auto pg, EmbeddedPostgres::Start(options));
//   pqxx::connection conn(pg->ConnectionString());
//   ...
//   pg->Stop();   // also done by the destructor
//
// The cluster listens on a Unix socket inside the data directory only (no TCP port), so
// nothing else on the machine can reach it. initdb and postgres refuse to run as root:
// when Coplan runs as root they run as an unprivileged account ("postgres" by default)
// that owns the data directory. A cluster left running by a killed server is reused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace coplan {

class EmbeddedPostgres {
 public:
  struct Options {
    // Holds pgdata/ (the cluster), socket/ and postgres.log. Created when missing.
    std::string data_dir;
    // Directory with initdb, pg_ctl and postgres; found under /usr/lib/postgresql when empty.
    std::string bin_dir;
    // Account that owns and runs the cluster when the process runs as root.
    std::string os_user = "postgres";
    // Database created for Coplan.
    std::string database = "coplan";
    // False for throwaway test clusters: no fsync (a crash of the machine loses data).
    bool durable = true;
    // Extra server settings, e.g. "max_connections=200".
    std::vector<std::string> settings;
  };

  // Creates the cluster on first use, starts it (or adopts a running one) and creates
  // the database if missing.
  static absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> Start(const Options& options);

  ~EmbeddedPostgres();
  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // libpq connection string for `database` (or another database of the cluster).
  std::string ConnectionString() const;
  std::string ConnectionString(const std::string& database) const;
  // The same for the server's own login role (kServerLogin): data access only, once
  // the schema owner (kSuperuser) has run the migrations.
  std::string ServerConnectionString() const;
  std::string ServerConnectionString(const std::string& database) const;
  // The Unix socket directory (for psql/pgbench: -h <dir>).
  const std::string& socket_dir() const { return socket_dir_; }
  const std::string& bin_dir() const { return bin_dir_; }
  // The database superuser name.
  static constexpr const char* kSuperuser = "coplan";
  // The role the server connects as: a member of coplan_server, created with the cluster.
  static constexpr const char* kServerLogin = "coplan_app";

  // Stops the cluster (fast shutdown: open transactions roll back). Idempotent.
  absl::Status Stop();
  // Kills the postmaster with SIGKILL, as a crash would (tests of durability).
  absl::Status Crash();

 private:
  explicit EmbeddedPostgres(Options options) : options_(std::move(options)) {}
  absl::Status Prepare();
  absl::Status InitCluster();
  absl::Status StartServer();
  absl::Status EnsureDatabase();
  // Runs a PostgreSQL program (as os_user when root), output appended to `log_file`.
  absl::Status RunProgram(const std::vector<std::string>& argv, const std::string& log_file,
                          int* exit_code = nullptr);

  Options options_;
  std::string bin_dir_;
  std::string pgdata_;
  std::string socket_dir_;
  bool running_ = false;
  int run_uid_ = -1;
  int run_gid_ = -1;
};

}  // namespace coplan
