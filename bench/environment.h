// The system under test, built fresh for every run: a private durable PostgreSQL, an
// administrator made with `coplan-server create-admin`, two coplan-server instances
// ("a" and "b") on the same database, one service user and their plans.
//
// Everything lives in a temporary directory under /tmp and is removed by the
// destructor (servers stopped with SIGTERM, PostgreSQL stopped), also after a failure.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/process.h"
#include "remote/rpc_client.h"
#include "server/embedded/embedded_postgres.h"

namespace coplan::bench {

class BenchEnvironment {
 public:
  struct Options {
    std::string server_binary;
    int plans = 100;
    // Aimed-for size of a serialized GetPlan response.
    int payload_bytes = 2000;
  };

  static absl::StatusOr<std::unique_ptr<BenchEnvironment>> Create(const Options& options);
  ~BenchEnvironment();
  BenchEnvironment(const BenchEnvironment&) = delete;
  BenchEnvironment& operator=(const BenchEnvironment&) = delete;

  const std::string& work_dir() const { return work_dir_; }
  EmbeddedPostgres& postgres() const { return *postgres_; }
  const std::string& target_a() const { return target_a_; }
  const std::string& target_b() const { return target_b_; }
  pid_t pid_b() const { return server_b_->pid(); }
  // The service user's bearer token (valid on both instances: they share the secret).
  const std::string& token() const { return token_; }
  // The service user's username and password (a device signs in with them).
  const std::string& username() const { return username_; }
  const std::string& user_password() const { return user_password_; }
  // "people/bench-user/plans/..." for every plan, all crisis plans.
  const std::vector<std::string>& plans() const { return plans_; }
  // Ids of the warning-sign items of every plan ("w0", "w1", ...).
  const std::vector<std::string>& item_ids() const { return item_ids_; }
  // Serialized size of a GetPlan response (plans differ by a few bytes at most).
  size_t plan_response_bytes() const { return plan_response_bytes_; }
  // The plan's current revision, read with GetPlan on instance a.
  absl::StatusOr<int64_t> CurrentRevision(const std::string& plan) const;
  // True while both servers are still running.
  bool ServersRunning() const;
  // The end of both servers' logs, for error reports.
  std::string ServerLogTails() const;

 private:
  BenchEnvironment() = default;
  absl::Status Build(const Options& options);
  absl::StatusOr<std::unique_ptr<Subprocess>> StartServer(const std::string& instance,
                                                          std::string* target);
  absl::Status CreatePlans(const Options& options);

  std::string work_dir_;
  std::string server_binary_;
  std::string conninfo_;
  std::string secret_file_;
  std::unique_ptr<EmbeddedPostgres> postgres_;
  std::unique_ptr<Subprocess> server_a_;
  std::unique_ptr<Subprocess> server_b_;
  std::string target_a_;
  std::string target_b_;
  std::unique_ptr<coplan::client::remote::RpcClient> user_;  // on instance a
  std::string token_;
  std::string username_;
  std::string user_password_;
  std::vector<std::string> plans_;
  std::vector<std::string> item_ids_;
  size_t plan_response_bytes_ = 0;
};

}  // namespace coplan::bench
