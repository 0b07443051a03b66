// The whole server, assembled: database (embedded or configured), migrations, stores,
// services, the live hub, the gRPC server with health and reflection, and an orderly
// shutdown. main() and the in-process tests both use it.
//
//   COPLAN_ASSIGN_OR_RETURN(auto app, ServerApp::Start(config));
//   std::cout << app->address();
//   ...
//   app->Shutdown();   // drains calls in flight (bounded by config.shutdown_grace)
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/app/config.h"
#include "server/common/clock.h"
#include "server/common/metrics.h"

namespace coplan {

class EmbeddedPostgres;
class MetricsEndpoint;
class Database;
class AuditLog;
class AccessGate;
struct Components;

class ServerApp {
 public:
  // What time it is for rules (grant and token expiry, birthdays, review dates) comes
  // from `clock`; tests pass a fake one.
  static absl::StatusOr<std::unique_ptr<ServerApp>> Start(ServerConfig config,
                                                          const Clock& clock = SystemClock());
  ~ServerApp();

  // "127.0.0.1:50051" (with the port actually bound).
  std::string address() const;
  // Where the health-only port serves ("" without --health_listen).
  std::string health_address() const;
  // Where the Prometheus endpoint serves ("" without --metrics_listen).
  std::string metrics_address() const;
  int port() const { return port_; }
  // The libpq connection string in use.
  const std::string& conninfo() const { return conninfo_; }

  // Stops taking calls, ends watch streams (UNAVAILABLE, so clients resume elsewhere),
  // waits up to the grace period for calls in flight, flushes the audit trail and stops
  // the embedded database. Idempotent.
  void Shutdown();

  Database& database();
  AuditLog& audit();
  // The access gate (tests count how often calls pass it).
  const AccessGate& gate() const;

 private:
  explicit ServerApp(const Clock& clock);
  absl::Status Build();

  ServerConfig config_;
  const Clock& clock_;
  std::unique_ptr<EmbeddedPostgres> embedded_;
  std::string conninfo_;
  std::unique_ptr<Components> components_;
  std::unique_ptr<grpc::Server> server_;
  // grpc.health.v1.Health alone, plaintext (--health_listen).
  std::unique_ptr<grpc::CallbackGenericService> health_fallback_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<MetricsRegistry::CollectorHandle> metrics_collector_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Applies migrations to the configured (or embedded) database and returns.
absl::Status RunMigrations(const ServerConfig& config);
// Verifies the audit trail; prints the report; OK only when intact.
absl::Status RunAuditVerify(const ServerConfig& config);
// Moves the master secret an earlier version kept in the database into --secret_file, and
// removes it from the database.
absl::Status RunMoveSecretToFile(const ServerConfig& config);
// Adds a token key to --token_key_file (creating the file) that signs from a few minutes
// on, and drops the keys whose tokens have all expired.
absl::Status RunRotateTokenKey(const ServerConfig& config, absl::Time now);
// Creates an administrator with a built-in account (password read by the caller).
absl::Status RunCreateAdmin(const ServerConfig& config, const std::string& username,
                            const std::string& display_name, const std::string& password);

}  // namespace coplan
