// The PostgreSQL connection pool and the transaction runner every store uses.
//
//   Database db({.conninfo = "host=/var/lib/coplan/socket dbname=coplan", .pool_size = 8});
//   db.Prepare("get_plan", "SELECT body FROM documents WHERE key = $1");
//   absl::Status status = db.Write(deadline, [&](WriteTransaction& tx) -> absl::Status {
//     tx.exec_prepared("get_plan", key);
//     ...
//     return absl::OkStatus();   // commits; any other status rolls back
//   });
//
// - Connections are leased one per transaction and never shared between threads.
//   A connection that breaks is dropped and replaced on the next lease.
// - Statements are prepared once per connection (lazily, by name).
// - The caller's deadline bounds every statement: statement_timeout is set from the time
//   left (rounded down to a 1-2-5 step, so it is only re-sent when the step changes), and
//   a statement cancelled by it returns DEADLINE_EXCEEDED.
// - Serialization failures and deadlocks are retried with backoff; a connection lost
//   before COMMIT is retried on a fresh connection; a lost COMMIT is UNAVAILABLE with
//   "outcome unknown" (callers with idempotency keys can retry safely).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/transaction.h"

namespace coplan {

class Database {
 public:
  struct Options {
    std::string conninfo;
    int pool_size = 8;
    // Statement timeout when the call has no deadline (or a later one).
    absl::Duration max_statement_timeout = absl::Seconds(30);
    // How long a call waits for a free connection before UNAVAILABLE.
    absl::Duration max_lease_wait = absl::Seconds(10);
    int max_retries = 5;
  };

  explicit Database(Options options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Registers a prepared statement for every connection, open or yet to open.
  void Prepare(const std::string& name, const std::string& sql);

  // Runs `work` in a read-write transaction; commits when it returns OK.
  absl::Status Write(absl::Time deadline,
                     const std::function<absl::Status(WriteTransaction&)>& work);
  // Runs `work` without a transaction block (autocommit): for single-statement reads,
  // which are consistent on their own, at one round trip each.
  absl::Status Read(absl::Time deadline, const std::function<absl::Status(Transaction&)>& work);

  // Checks that a connection can be made (start-up).
  absl::Status Ping(absl::Time deadline);

  const Options& options() const { return options_; }
  // Number of connections replaced after breaking (for tests and metrics).
  int broken_connections() const;
  // For the metrics: connections allowed, open (in use or idle), and idle.
  struct PoolUse {
    int size = 0;
    int open = 0;
    int idle = 0;
  };
  PoolUse pool_use() const;

 private:
  struct PooledConnection;  // a libpqxx connection and what it has been told
  class Lease;

  absl::StatusOr<std::unique_ptr<PooledConnection>> Acquire(absl::Time deadline);
  void Release(std::unique_ptr<PooledConnection> conn, bool broken);
  absl::Status Connect(PooledConnection& pooled);
  void RegisterNewStatements(PooledConnection& pooled);
  absl::Status ApplyDeadline(PooledConnection& pooled, absl::Time deadline);
  template <typename PqxxTx, typename Tx>
  absl::Status Run(absl::Time deadline, bool write, const std::function<absl::Status(Tx&)>& work);

  const Options options_;
  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<PooledConnection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;
  int broken_ ABSL_GUARDED_BY(mutex_) = 0;
  // Named statements in the order registered.
  std::vector<std::pair<std::string, std::string>> statements_ ABSL_GUARDED_BY(mutex_);
};

// Rounds a time budget down to the 1-2-5 series (10 ms ... max), for statement_timeout.
int64_t StatementTimeoutStepMs(absl::Duration remaining, absl::Duration max);

}  // namespace coplan
