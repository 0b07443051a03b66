// Server configuration: command-line flags, each defaulting to an environment variable
// (COPLAN_<FLAG NAME IN CAPITALS>), then to a built-in default.
//
//   coplan-server --listen=0.0.0.0:8443 --database_url=postgresql://coplan@db/coplan
//   COPLAN_DATABASE_URL=postgresql://... coplan-server
//
// With no database URL the server runs its own PostgreSQL in --data_dir.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth/authenticator.h"
#include "server/common/log.h"

namespace coplan {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string database_url;  // empty: embedded PostgreSQL in data_dir
  std::string data_dir;      // embedded database, secret file
  std::string embedded_os_user = "postgres";
  bool embedded_durable = true;  // false only for throwaway test clusters
  bool demo = false;             // seed demo people, plans and a grid
  // gRPC server reflection (grpcurl and other tools list the API); off for production.
  bool reflection = true;
  int db_pool_size = 8;
  int worker_threads = 0;  // 0: db_pool_size + 2
  int max_queued_calls = 5000;
  std::string secret_file;  // empty: <data_dir>/secret.key when embedded, else database
  // Keys that sign and verify access tokens (auth/token_keys.h); empty: one key derived
  // from the master secret.
  std::string token_key_file;
  // Audit checkpoints outside the database; empty: <data_dir>/audit-checkpoints.jsonl
  // when embedded, else the log only.
  std::string audit_checkpoint_file;
  absl::Duration audit_checkpoint_interval = absl::Seconds(10);
  // TLS on the gRPC port (server/app/tls_credentials.h): the files are watched and a
  // renewed pair is served to new connections without a restart.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;  // set: mutual TLS, a client certificate from these CAs
  absl::Duration tls_reload_interval = absl::Minutes(1);
  // host:port of a plaintext gRPC port serving grpc.health.v1.Health alone (for probes
  // that cannot speak TLS, such as Kubernetes'); empty: health is on --listen only.
  std::string health_listen;
  // host:port of the Prometheus endpoint (GET /metrics); empty: not served.
  std::string metrics_listen;
  // Plaintext beyond loopback, for a TLS-speaking proxy in front; refused by default.
  bool allow_plaintext = false;
  std::string token_issuer = "coplan";
  absl::Duration token_lifetime = absl::Hours(1);
  absl::Duration device_session_lifetime = absl::Hours(24 * 90);
  std::vector<OidcProvider> oidc_providers;
  absl::Duration shutdown_grace = absl::Seconds(10);
  absl::Duration max_call_time = absl::Seconds(30);
  int password_hash_concurrency = 2;
  int sign_in_max_failures = 10;
  absl::Duration sign_in_lock_duration = absl::Minutes(15);
  int sign_in_per_username_per_minute = 20;
  int sign_in_per_peer_per_minute = 60;
  // Reverse proxies whose X-Forwarded-For names the client (server/api/client_address.h).
  std::string trusted_proxies;
  int grpc_memory_quota_mb = 1024;  // 0: gRPC's default (no limit)
  double grid_reading_age_target = 12;
  bool grid_reading_age_enforced = false;
  std::string instance_id;  // empty: random
  int watch_queue_limit = 256;
  // Watch and sync streams one person may hold open on one instance at once.
  int max_streams_per_person = 32;
  // How often every watch stream's access and session are checked again.
  absl::Duration watch_access_recheck = absl::Seconds(30);
  // How often what each stream delivered is audited (the promise is at least every 60 s;
  // tests shorten it).
  absl::Duration stream_read_audit_interval = absl::Seconds(60);
  LogLevel log_level = LogLevel::kInfo;
};

// Parses flags (and environment) into a config; positional arguments (the subcommand)
// are returned in `args`.
absl::StatusOr<ServerConfig> ParseServerConfig(int argc, char** argv,
                                               std::vector<std::string>* args);

// Plaintext on loopback only unless --allow_plaintext; the TLS flags that need each other.
absl::Status CheckTransportPolicy(const ServerConfig& config);

// The default data directory: /var/lib/coplan as root (PostgreSQL's account must be able
// to reach it), else $XDG_DATA_HOME/coplan or ~/.local/share/coplan.
std::string DefaultDataDir();

}  // namespace coplan
