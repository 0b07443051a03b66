#include "server/app/config.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/api/client_address.h"
#include "server/app/tls_credentials.h"

namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

bool EnvBool(const char* name, bool fallback) {
  const std::string value = absl::AsciiStrToLower(Env(name, fallback ? "true" : "false"));
  return value == "1" || value == "true" || value == "yes";
}

int EnvInt(const char* name, int fallback) {
  int value = fallback;
  if (!absl::SimpleAtoi(Env(name, ""), &value)) value = fallback;
  return value;
}

double EnvDouble(const char* name, double fallback) {
  double value = fallback;
  if (!absl::SimpleAtod(Env(name, ""), &value)) value = fallback;
  return value;
}

absl::Duration EnvDuration(const char* name, absl::Duration fallback) {
  absl::Duration value = fallback;
  if (!absl::ParseDuration(Env(name, ""), &value)) value = fallback;
  return value;
}

}  // namespace

ABSL_FLAG(std::string, listen, Env("COPLAN_LISTEN", "127.0.0.1:50051"),
          "host:port to serve gRPC on (port 0 picks a free one) [COPLAN_LISTEN]");
ABSL_FLAG(std::string, database_url, Env("COPLAN_DATABASE_URL", ""),
          "PostgreSQL connection URL; empty runs an embedded PostgreSQL in --data_dir "
          "[COPLAN_DATABASE_URL]");
ABSL_FLAG(std::string, data_dir, Env("COPLAN_DATA_DIR", ""),
          "directory of the embedded database and its secret file [COPLAN_DATA_DIR]");
ABSL_FLAG(std::string, embedded_pg_user, Env("COPLAN_EMBEDDED_PG_USER", "postgres"),
          "unprivileged account that runs the embedded PostgreSQL when started as root "
          "[COPLAN_EMBEDDED_PG_USER]");
ABSL_FLAG(bool, demo, EnvBool("COPLAN_DEMO", false),
          "seed demo people, accounts, plans, an option grid and a decision [COPLAN_DEMO]");
ABSL_FLAG(bool, reflection, EnvBool("COPLAN_REFLECTION", true),
          "serve gRPC server reflection, so that tools such as grpcurl can list the API; "
          "switch it off in production [COPLAN_REFLECTION]");
ABSL_FLAG(int, db_pool_size, EnvInt("COPLAN_DB_POOL_SIZE", 8),
          "database connections [COPLAN_DB_POOL_SIZE]");
ABSL_FLAG(int, worker_threads, EnvInt("COPLAN_WORKER_THREADS", 0),
          "threads for blocking work; 0 means db_pool_size + 2 [COPLAN_WORKER_THREADS]");
ABSL_FLAG(int, max_queued_calls, EnvInt("COPLAN_MAX_QUEUED_CALLS", 5000),
          "calls waiting for a worker before new ones get UNAVAILABLE [COPLAN_MAX_QUEUED_CALLS]");
ABSL_FLAG(std::string, secret_file, Env("COPLAN_SECRET_FILE", ""),
          "file with the master secret (tokens, audit MACs); share it between instances "
          "[COPLAN_SECRET_FILE]");
ABSL_FLAG(std::string, token_key_file, Env("COPLAN_TOKEN_KEY_FILE", ""),
          "file of the keys that sign access tokens, rotated apart from the master secret "
          "(coplan-server rotate-token-key); unset: one key derived from the master secret "
          "[COPLAN_TOKEN_KEY_FILE]");
ABSL_FLAG(std::string, audit_checkpoint_file, Env("COPLAN_AUDIT_CHECKPOINT_FILE", ""),
          "file the audit trail's signed checkpoints are appended to, outside the database "
          "(keep it where the database's users cannot write; `audit verify` checks the "
          "trail against it); empty: <data_dir>/audit-checkpoints.jsonl when embedded, else "
          "the log only [COPLAN_AUDIT_CHECKPOINT_FILE]");
ABSL_FLAG(absl::Duration, audit_checkpoint_interval,
          EnvDuration("COPLAN_AUDIT_CHECKPOINT_INTERVAL", absl::Seconds(10)),
          "how often the audit trail is checkpointed (rows newer than the last checkpoint "
          "are protected by their MACs only) [COPLAN_AUDIT_CHECKPOINT_INTERVAL]");
ABSL_FLAG(std::string, tls_cert_file, Env("COPLAN_TLS_CERT_FILE", ""),
          "PEM certificate chain; with --tls_key_file serves TLS [COPLAN_TLS_CERT_FILE]");
ABSL_FLAG(std::string, tls_key_file, Env("COPLAN_TLS_KEY_FILE", ""),
          "PEM private key (unencrypted; readable by the service only) [COPLAN_TLS_KEY_FILE]");
ABSL_FLAG(std::string, tls_client_ca_file, Env("COPLAN_TLS_CLIENT_CA_FILE", ""),
          "PEM certificates of the CAs whose client certificates are accepted; set, every "
          "client must present one (mutual TLS, for service-to-service callers) "
          "[COPLAN_TLS_CLIENT_CA_FILE]");
ABSL_FLAG(absl::Duration, tls_reload_interval,
          EnvDuration("COPLAN_TLS_RELOAD_INTERVAL", absl::Minutes(1)),
          "how often the TLS files are read again; a renewed certificate and key are served "
          "to new connections without a restart [COPLAN_TLS_RELOAD_INTERVAL]");
ABSL_FLAG(std::string, health_listen, Env("COPLAN_HEALTH_LISTEN", ""),
          "host:port of a plaintext gRPC port that serves the gRPC health service and nothing "
          "else, for probes that cannot speak TLS (Kubernetes' grpc probes); empty: health "
          "is served on --listen only [COPLAN_HEALTH_LISTEN]");
ABSL_FLAG(std::string, metrics_listen, Env("COPLAN_METRICS_LISTEN", ""),
          "host:port to serve Prometheus metrics on (GET /metrics, plain HTTP; names no "
          "person or document), e.g. 0.0.0.0:9464; empty: not served [COPLAN_METRICS_LISTEN]");
ABSL_FLAG(bool, allow_plaintext, EnvBool("COPLAN_ALLOW_PLAINTEXT", false),
          "serve without TLS on an address other than loopback, e.g. behind a proxy that "
          "speaks TLS to clients on a private network; refused by default "
          "[COPLAN_ALLOW_PLAINTEXT]");
ABSL_FLAG(std::string, token_issuer, Env("COPLAN_TOKEN_ISSUER", "coplan"),
          "issuer name of the server's own tokens [COPLAN_TOKEN_ISSUER]");
ABSL_FLAG(absl::Duration, token_lifetime, EnvDuration("COPLAN_TOKEN_LIFETIME", absl::Hours(1)),
          "lifetime of the server's own tokens [COPLAN_TOKEN_LIFETIME]");
ABSL_FLAG(absl::Duration, device_session_lifetime,
          EnvDuration("COPLAN_DEVICE_SESSION_LIFETIME", absl::Hours(24 * 90)),
          "how long a device session (a phone that stays signed in) lasts after its last "
          "refresh [COPLAN_DEVICE_SESSION_LIFETIME]");
ABSL_FLAG(std::string, oidc_issuer, Env("COPLAN_OIDC_ISSUER", ""),
          "OpenID Connect issuer to trust, exactly as in its tokens [COPLAN_OIDC_ISSUER]");
ABSL_FLAG(std::string, oidc_audience, Env("COPLAN_OIDC_AUDIENCE", ""),
          "audience (client id) required in OIDC tokens [COPLAN_OIDC_AUDIENCE]");
ABSL_FLAG(std::string, oidc_jwks_file, Env("COPLAN_OIDC_JWKS_FILE", ""),
          "the issuer's JWKS (JSON Web Key Set) file [COPLAN_OIDC_JWKS_FILE]");
ABSL_FLAG(absl::Duration, shutdown_grace, EnvDuration("COPLAN_SHUTDOWN_GRACE", absl::Seconds(10)),
          "how long SIGTERM waits for calls in flight [COPLAN_SHUTDOWN_GRACE]");
ABSL_FLAG(absl::Duration, max_call_time, EnvDuration("COPLAN_MAX_CALL_TIME", absl::Seconds(30)),
          "longest database time of a call sent without a deadline [COPLAN_MAX_CALL_TIME]");
ABSL_FLAG(int, sign_in_max_failures, EnvInt("COPLAN_SIGN_IN_MAX_FAILURES", 10),
          "wrong passwords in a row (each within --sign_in_lock_duration of the last) that "
          "pause sign-in to an account [COPLAN_SIGN_IN_MAX_FAILURES]");
ABSL_FLAG(absl::Duration, sign_in_lock_duration,
          EnvDuration("COPLAN_SIGN_IN_LOCK_DURATION", absl::Minutes(15)),
          "how long sign-in to an account is paused; doubled for each further pause before "
          "a successful sign-in, up to 16 times [COPLAN_SIGN_IN_LOCK_DURATION]");
ABSL_FLAG(int, sign_in_per_username_per_minute,
          EnvInt("COPLAN_SIGN_IN_PER_USERNAME_PER_MINUTE", 20),
          "sign-in attempts per username per minute, known or not, before RESOURCE_EXHAUSTED "
          "[COPLAN_SIGN_IN_PER_USERNAME_PER_MINUTE]");
ABSL_FLAG(int, sign_in_per_peer_per_minute, EnvInt("COPLAN_SIGN_IN_PER_PEER_PER_MINUTE", 60),
          "sign-in attempts per client address per minute; devices with a device cookie and "
          "successful sign-ins do not count [COPLAN_SIGN_IN_PER_PEER_PER_MINUTE]");
ABSL_FLAG(std::string, trusted_proxies, Env("COPLAN_TRUSTED_PROXIES", ""),
          "comma-separated addresses or CIDR blocks of reverse proxies whose X-Forwarded-For "
          "names the client, e.g. 10.0.0.0/8 [COPLAN_TRUSTED_PROXIES]");
ABSL_FLAG(int, grpc_memory_quota_mb, EnvInt("COPLAN_GRPC_MEMORY_QUOTA_MB", 1024),
          "memory gRPC may hold for connections and calls in flight, in MiB; 0: no limit "
          "[COPLAN_GRPC_MEMORY_QUOTA_MB]");
ABSL_FLAG(int, password_hash_concurrency, EnvInt("COPLAN_PASSWORD_HASH_CONCURRENCY", 2),
          "Argon2id hashes at once (19 MiB each) [COPLAN_PASSWORD_HASH_CONCURRENCY]");
ABSL_FLAG(
    double, grid_reading_age_target, EnvDouble("COPLAN_GRID_READING_AGE_TARGET", 12),
    "reading age (years) above which publishing a grid warns [COPLAN_GRID_READING_AGE_TARGET]");
ABSL_FLAG(
    bool, grid_reading_age_enforced, EnvBool("COPLAN_GRID_READING_AGE_ENFORCED", false),
    "refuse to publish grids above the reading-age target [COPLAN_GRID_READING_AGE_ENFORCED]");
ABSL_FLAG(std::string, instance_id, Env("COPLAN_INSTANCE_ID", ""),
          "name of this instance among several on one database (random when empty) "
          "[COPLAN_INSTANCE_ID]");
ABSL_FLAG(int, watch_queue_limit, EnvInt("COPLAN_WATCH_QUEUE_LIMIT", 256),
          "events queued for one slow watcher before its stream ends [COPLAN_WATCH_QUEUE_LIMIT]");
ABSL_FLAG(int, max_streams_per_person, EnvInt("COPLAN_MAX_STREAMS_PER_PERSON", 32),
          "WatchDocument and Sync streams one person may hold open on this instance; more "
          "are RESOURCE_EXHAUSTED (TOO_MANY_STREAMS) [COPLAN_MAX_STREAMS_PER_PERSON]");
ABSL_FLAG(std::string, log_level, Env("COPLAN_LOG_LEVEL", "info"),
          "debug, info, warning or error [COPLAN_LOG_LEVEL]");

namespace coplan {

std::string DefaultDataDir() {
  if (::geteuid() == 0) return "/var/lib/coplan";
  const std::string xdg = Env("XDG_DATA_HOME", "");
  if (!xdg.empty()) return xdg + "/coplan";
  return Env("HOME", "/tmp") + "/.local/share/coplan";
}

absl::Status CheckTransportPolicy(const ServerConfig& config) {
  const bool tls = !config.tls_cert_file.empty();
  if (!tls && !config.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file (mutual TLS) needs --tls_cert_file and --tls_key_file");
  }
  if (config.tls_reload_interval < absl::Seconds(1) ||
      config.tls_reload_interval > absl::Hours(24)) {
    return absl::InvalidArgumentError("--tls_reload_interval must be 1s to 24h");
  }
  if (!tls && !config.allow_plaintext && !IsLoopbackListenAddress(config.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", config.listen,
        " would serve plaintext beyond this machine, and people's records with it. Give "
        "--tls_cert_file and --tls_key_file to serve TLS, or --allow_plaintext if a proxy "
        "that speaks TLS to clients is in front (plaintext is served on loopback only by "
        "default)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> ParseServerConfig(int argc, char** argv,
                                               std::vector<std::string>* args) {
  absl::SetProgramUsageMessage(
      "Coplan server.\n"
      "  coplan-server [serve] [flags]   serve gRPC (embedded PostgreSQL when no database URL)\n"
      "  coplan-server migrate           apply database migrations (as the schema owner) and exit\n"
      "  coplan-server audit verify      check the audit trail against its checkpoints (reads "
      "only)\n"
      "  coplan-server create-admin USERNAME \"Display Name\"   (password on stdin)\n"
      "  coplan-server move-secret-to-file --database_url=... --secret_file=NEW_FILE\n"
      "                                  move the secret an earlier version kept in the "
      "database to a file\n"
      "  coplan-server rotate-token-key --token_key_file=FILE\n"
      "                                  add a token key that signs from 5 minutes on (all "
      "instances read it first) and drop keys whose tokens have expired");
  // absl's --help lists only flags defined in a file named like the program; ours are all
  // here, so name this file (and leave gRPC's and absl's own flags to --helpfull).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/app/config.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  args->clear();
  for (size_t i = 1; i < positional.size(); ++i) args->push_back(positional[i]);

  ServerConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  config.demo = absl::GetFlag(FLAGS_demo);
  config.reflection = absl::GetFlag(FLAGS_reflection);
  // The demo's data (known passwords) never shares a directory with a real service's.
  if (config.data_dir.empty()) config.data_dir = DefaultDataDir() + (config.demo ? "-demo" : "");
  config.embedded_os_user = absl::GetFlag(FLAGS_embedded_pg_user);
  config.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  config.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  config.max_queued_calls = absl::GetFlag(FLAGS_max_queued_calls);
  config.secret_file = absl::GetFlag(FLAGS_secret_file);
  config.token_key_file = absl::GetFlag(FLAGS_token_key_file);
  config.audit_checkpoint_file = absl::GetFlag(FLAGS_audit_checkpoint_file);
  config.audit_checkpoint_interval = absl::GetFlag(FLAGS_audit_checkpoint_interval);
  config.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  config.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  config.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  config.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  config.allow_plaintext = absl::GetFlag(FLAGS_allow_plaintext);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.health_listen = absl::GetFlag(FLAGS_health_listen);
  config.token_issuer = absl::GetFlag(FLAGS_token_issuer);
  config.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  config.device_session_lifetime = absl::GetFlag(FLAGS_device_session_lifetime);
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  config.max_call_time = absl::GetFlag(FLAGS_max_call_time);
  config.password_hash_concurrency = absl::GetFlag(FLAGS_password_hash_concurrency);
  config.max_streams_per_person = absl::GetFlag(FLAGS_max_streams_per_person);
  config.sign_in_max_failures = absl::GetFlag(FLAGS_sign_in_max_failures);
  config.sign_in_lock_duration = absl::GetFlag(FLAGS_sign_in_lock_duration);
  config.sign_in_per_username_per_minute = absl::GetFlag(FLAGS_sign_in_per_username_per_minute);
  config.sign_in_per_peer_per_minute = absl::GetFlag(FLAGS_sign_in_per_peer_per_minute);
  config.trusted_proxies = absl::GetFlag(FLAGS_trusted_proxies);
  config.grpc_memory_quota_mb = absl::GetFlag(FLAGS_grpc_memory_quota_mb);
  config.grid_reading_age_target = absl::GetFlag(FLAGS_grid_reading_age_target);
  config.grid_reading_age_enforced = absl::GetFlag(FLAGS_grid_reading_age_enforced);
  config.instance_id = absl::GetFlag(FLAGS_instance_id);
  config.watch_queue_limit = absl::GetFlag(FLAGS_watch_queue_limit);
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &config.log_level)) {
    return absl::InvalidArgumentError("--log_level must be debug, info, warning or error");
  }
  const std::string issuer = absl::GetFlag(FLAGS_oidc_issuer);
  if (!issuer.empty()) {
    config.oidc_providers.push_back(
        {issuer, absl::GetFlag(FLAGS_oidc_audience), absl::GetFlag(FLAGS_oidc_jwks_file)});
  }
  if (config.db_pool_size < 1 || config.db_pool_size > 500) {
    return absl::InvalidArgumentError("--db_pool_size must be 1 to 500");
  }
  if (config.audit_checkpoint_interval < absl::Seconds(1) ||
      config.audit_checkpoint_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError("--audit_checkpoint_interval must be 1s to 1h");
  }
  if (config.sign_in_max_failures < 3 || config.sign_in_max_failures > 100) {
    return absl::InvalidArgumentError("--sign_in_max_failures must be 3 to 100");
  }
  if (config.sign_in_lock_duration < absl::Seconds(1) ||
      config.sign_in_lock_duration > absl::Hours(24)) {
    return absl::InvalidArgumentError("--sign_in_lock_duration must be 1s to 24h");
  }
  if (config.demo && !config.database_url.empty()) {
    return absl::InvalidArgumentError(
        "--demo seeds accounts with known passwords into an embedded database of its own; it "
        "is refused with --database_url");
  }
  if (config.max_streams_per_person < 1) {
    return absl::InvalidArgumentError("--max_streams_per_person must be 1 or more");
  }
  if (config.password_hash_concurrency < 1 || config.password_hash_concurrency > 64) {
    return absl::InvalidArgumentError("--password_hash_concurrency must be 1 to 64");
  }
  if (config.sign_in_per_username_per_minute < 1 ||
      config.sign_in_per_username_per_minute > 100000) {
    return absl::InvalidArgumentError("--sign_in_per_username_per_minute must be 1 to 100000");
  }
  if (config.sign_in_per_peer_per_minute < 1 || config.sign_in_per_peer_per_minute > 100000) {
    return absl::InvalidArgumentError("--sign_in_per_peer_per_minute must be 1 to 100000");
  }
  if (auto proxies = TrustedProxies::Parse(config.trusted_proxies); !proxies.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--trusted_proxies: ", proxies.status().message()));
  }
  if (config.grpc_memory_quota_mb != 0 &&
      (config.grpc_memory_quota_mb < 64 || config.grpc_memory_quota_mb > 1024 * 1024)) {
    return absl::InvalidArgumentError("--grpc_memory_quota_mb must be 0 or 64 to 1048576");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (config.token_lifetime < absl::Minutes(1) || config.token_lifetime > absl::Hours(24)) {
    return absl::InvalidArgumentError("--token_lifetime must be 1m to 24h");
  }
  if (config.device_session_lifetime < absl::Hours(1) ||
      config.device_session_lifetime > absl::Hours(24 * 400)) {
    return absl::InvalidArgumentError("--device_session_lifetime must be 1h to 400 days");
  }
  return config;
}

}  // namespace coplan
