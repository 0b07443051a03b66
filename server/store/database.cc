#include "server/store/database.h"

#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/log.h"

namespace coplan {
namespace {

constexpr char kQueryCanceled[] = "57014";

bool IsDeadlineCancel(const pqxx::sql_error& e) { return e.sqlstate() == kQueryCanceled; }

absl::Status DeadlineError() {
  absl::Status status = absl::DeadlineExceededError(
      "the call's deadline passed before the database finished; nothing was changed");
  AttachErrorInfo(status, reason::kDeadlineExceeded);
  return status;
}

absl::Status UnavailableError(absl::string_view message) {
  absl::Status status = absl::UnavailableError(message);
  AttachErrorInfo(status, reason::kUnavailable);
  return status;
}

}  // namespace

int64_t StatementTimeoutStepMs(absl::Duration remaining, absl::Duration max) {
  const int64_t limit_ms = absl::ToInt64Milliseconds(std::min(remaining, max));
  int64_t step = 10;
  for (int64_t base = 10; base <= limit_ms; base *= 10) {
    for (int64_t multiple : {1, 2, 5}) {
      if (base * multiple <= limit_ms) step = base * multiple;
    }
  }
  if (remaining >= max) return absl::ToInt64Milliseconds(max);
  return step;
}

struct Database::PooledConnection {
  std::unique_ptr<pqxx::connection> conn;
  int64_t statement_timeout_ms = -1;  // as last SET on this connection
  size_t registered = 0;              // how many of statements_ it knows
};

class Database::Lease {
 public:
  Lease(Database* db, std::unique_ptr<PooledConnection> conn) : db_(db), conn_(std::move(conn)) {}
  ~Lease() { db_->Release(std::move(conn_), broken_); }
  PooledConnection& get() { return *conn_; }
  void MarkBroken() { broken_ = true; }

 private:
  Database* db_;
  std::unique_ptr<PooledConnection> conn_;
  bool broken_ = false;
};

Database::Database(Options options) : options_(std::move(options)) {}

Database::~Database() = default;

void Database::Prepare(const std::string& name, const std::string& sql) {
  absl::MutexLock lock(&mutex_);
  for (const auto& known : statements_) {
    if (known.first == name) return;  // another store instance on the same pool
  }
  // Connections pick it up when next leased (see RegisterNewStatements), so one that is
  // in use right now does not miss it.
  statements_.emplace_back(name, sql);
}

void Database::RegisterNewStatements(PooledConnection& pooled) {
  std::vector<std::pair<std::string, std::string>> missing;
  {
    absl::MutexLock lock(&mutex_);
    if (pooled.registered == statements_.size()) return;
    missing.assign(statements_.begin() + pooled.registered, statements_.end());
    pooled.registered = statements_.size();
  }
  // Registration only; libpqxx prepares on the server at first use.
  for (const auto& [name, sql] : missing) pooled.conn->prepare(name, sql);
}

int Database::broken_connections() const {
  absl::MutexLock lock(&mutex_);
  return broken_;
}

Database::PoolUse Database::pool_use() const {
  absl::MutexLock lock(&mutex_);
  return PoolUse{.size = options_.pool_size, .open = open_, .idle = static_cast<int>(idle_.size())};
}

absl::Status Database::Connect(PooledConnection& pooled) {
  try {
    pooled.conn = std::make_unique<pqxx::connection>(options_.conninfo);
    {
      // Every statement is prepared and looks rows up by key: a generic plan is as good
      // as a custom one, and planning on every execution is what it saves.
      pqxx::nontransaction tx(*pooled.conn);
      tx.exec("SET plan_cache_mode = force_generic_plan");
    }
    pooled.registered = 0;
    RegisterNewStatements(pooled);
    pooled.statement_timeout_ms = -1;
  } catch (const std::exception& e) {
    Log(LogLevel::kWarning, "db_connect_failed");
    return UnavailableError("the database is not reachable; try again shortly");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Database::PooledConnection>> Database::Acquire(absl::Time deadline) {
  const absl::Time wait_until = std::min(deadline, absl::Now() + options_.max_lease_wait);
  std::unique_ptr<PooledConnection> conn;
  {
    absl::MutexLock lock(&mutex_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    if (!mutex_.AwaitWithDeadline(absl::Condition(&available), wait_until)) {
      if (absl::Now() >= deadline) return DeadlineError();
      return UnavailableError("all database connections are busy; try again shortly");
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // a place for a new connection, made outside the lock
    }
  }
  if (conn == nullptr) {
    conn = std::make_unique<PooledConnection>();
    absl::Status status = Connect(*conn);
    if (!status.ok()) {
      absl::MutexLock lock(&mutex_);
      --open_;
      return status;
    }
    return conn;
  }
  try {
    RegisterNewStatements(*conn);
  } catch (const std::exception&) {
    Release(std::move(conn), /*broken=*/true);
    return UnavailableError("the database is not reachable; try again shortly");
  }
  return conn;
}

void Database::Release(std::unique_ptr<PooledConnection> conn, bool broken) {
  absl::MutexLock lock(&mutex_);
  if (broken) {
    ++broken_;
    --open_;
    conn.reset();
  } else {
    idle_.push_back(std::move(conn));
  }
}

absl::Status Database::ApplyDeadline(PooledConnection& pooled, absl::Time deadline) {
  const absl::Duration remaining = deadline - absl::Now();
  if (remaining <= absl::ZeroDuration()) return DeadlineError();
  const int64_t timeout_ms = StatementTimeoutStepMs(remaining, options_.max_statement_timeout);
  if (timeout_ms == pooled.statement_timeout_ms) return absl::OkStatus();
  pqxx::nontransaction tx(*pooled.conn);
  tx.exec(absl::StrCat("SET statement_timeout = ", timeout_ms));
  pooled.statement_timeout_ms = timeout_ms;
  return absl::OkStatus();
}

template <typename PqxxTx, typename Tx>
absl::Status Database::Run(absl::Time deadline, bool write,
                           const std::function<absl::Status(Tx&)>& work) {
  for (int attempt = 0;; ++attempt) {
    auto acquired = Acquire(deadline);
    if (!acquired.ok()) return acquired.status();
    Lease lease(this, std::move(acquired).value());
    bool committing = false;
    try {
      absl::Status status = ApplyDeadline(lease.get(), deadline);
      if (!status.ok()) return status;
      PqxxTx sql(*lease.get().conn);
      Tx tx(sql);
      status = work(tx);
      if (!status.ok()) {
        sql.abort();
        return status;
      }
      committing = write;
      sql.commit();
      return absl::OkStatus();
    } catch (const pqxx::in_doubt_error&) {
      lease.MarkBroken();
      return UnavailableError(
          "the database connection was lost while committing; the outcome is unknown");
    } catch (const pqxx::broken_connection&) {
      lease.MarkBroken();
      Log(LogLevel::kWarning, "db_connection_broken").Int("attempt", attempt);
      if (committing) {
        return UnavailableError(
            "the database connection was lost while committing; the outcome is unknown");
      }
      if (attempt >= options_.max_retries || absl::Now() >= deadline) {
        return UnavailableError("the database is not reachable; try again shortly");
      }
    } catch (const pqxx::transaction_rollback& e) {
      // Serialization failure or deadlock: the transaction did nothing; run it again.
      Log(LogLevel::kInfo, "db_retry").Int("attempt", attempt);
      if (attempt >= options_.max_retries) {
        return UnavailableError("the database is too busy to complete the change; try again");
      }
    } catch (const pqxx::sql_error& e) {
      if (IsDeadlineCancel(e)) return DeadlineError();
      Log(LogLevel::kError, "db_error").Str("sqlstate", e.sqlstate());
      return absl::InternalError("database error");
    } catch (const pqxx::usage_error& e) {
      Log(LogLevel::kError, "db_usage_error");
      return absl::InternalError("database usage error");
    } catch (const std::exception& e) {
      // A broken connection can also surface as pqxx::failure; never reuse it.
      lease.MarkBroken();
      Log(LogLevel::kError, "db_failure");
      return UnavailableError("database failure; try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * (1 << std::min(attempt, 6))));
  }
}

absl::Status Database::Write(absl::Time deadline,
                             const std::function<absl::Status(WriteTransaction&)>& work) {
  return Run<pqxx::work, WriteTransaction>(deadline, /*write=*/true, work);
}

absl::Status Database::Read(absl::Time deadline,
                            const std::function<absl::Status(Transaction&)>& work) {
  return Run<pqxx::nontransaction, Transaction>(deadline, /*write=*/false, work);
}

absl::Status Database::Ping(absl::Time deadline) {
  return Read(deadline, [](Transaction& tx) {
    tx.sql().exec("SELECT 1");
    return absl::OkStatus();
  });
}

}  // namespace coplan
