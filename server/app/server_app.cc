#include "server/app/server_app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/resource_quota.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/api/auth_handler.h"
#include "server/api/editing_handler.h"
#include "server/api/export_handler.h"
#include "server/api/option_grid_handler.h"
#include "server/api/people_handler.h"
#include "server/api/plan_handler.h"
#include "server/api/rpc_runner.h"
#include "server/api/sync_handler.h"
#include "server/app/metrics_endpoint.h"
#include "server/app/tls_credentials.h"
#include "server/auth/authenticator.h"
#include "server/auth/password_hasher.h"
#include "server/auth/server_keys.h"
#include "server/auth/token_keys.h"
#include "server/common/crypto.h"
#include "server/common/ids.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/worker_pool.h"
#include "server/demo/demo_seed.h"
#include "server/domain/decision_rules.h"
#include "server/domain/plan_rules.h"
#include "server/embedded/embedded_postgres.h"
#include "server/live/doorbell.h"
#include "server/live/stored_document_feed.h"
#include "server/live/watch_hub.h"
#include "server/service/access_gate.h"
#include "server/service/account_admin.h"
#include "server/service/audit_log.h"
#include "server/service/audit_service.h"
#include "server/service/auth_service.h"
#include "server/service/decision_collection.h"
#include "server/service/decision_service.h"
#include "server/service/document_service.h"
#include "server/service/export_service.h"
#include "server/service/option_grid_service.h"
#include "server/service/people_service.h"
#include "server/store/audit_store.h"
#include "server/store/database.h"
#include "server/store/decision_store.h"
#include "server/store/document_store.h"
#include "server/store/grid_store.h"
#include "server/store/migrations.h"
#include "server/store/people_store.h"
#include "server/store/presence_store.h"
#include "server/store/secret_store.h"
#include "server/store/session_store.h"

namespace coplan {

// Everything the server owns, in construction order (destroyed in reverse).
struct Components {
  std::unique_ptr<Database> db;
  ServerKeys keys;
  std::unique_ptr<DocumentStore> document_store;
  std::unique_ptr<PeopleStore> people_store;
  std::unique_ptr<SessionStore> session_store;
  std::unique_ptr<AuditStore> audit_store;
  std::unique_ptr<GridStore> grid_store;
  std::unique_ptr<DecisionStore> decision_store;
  std::unique_ptr<PresenceStore> presence_store;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<PasswordHasher> hasher;
  // Sign-in's own, so a sign-in flood does not hold up an administrator setting a password.
  std::unique_ptr<PasswordHasher> sign_in_hasher;
  std::unique_ptr<Authenticator> authenticator;
  PlanRules plan_rules;
  DecisionRules decision_rules;
  std::unique_ptr<DocumentCollection> plans;
  std::unique_ptr<DecisionCollection> decisions_collection;
  DocumentCollections collections;
  std::unique_ptr<AccessGate> gate;
  std::unique_ptr<PageTokens> page_tokens;
  std::unique_ptr<DocumentService> documents;
  std::unique_ptr<OptionGridService> grids;
  std::unique_ptr<DecisionService> decisions;
  std::unique_ptr<PeopleService> people;
  std::unique_ptr<AccountAdmin> account_admin;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<AuditService> audit_service;
  std::unique_ptr<ExportService> exports;
  std::unique_ptr<StoredDocumentFeed> feed;
  std::unique_ptr<StoredPresenceBoard> presence;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<Doorbell> doorbell;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<WorkerPool> sign_in_workers;
  std::unique_ptr<RpcRunner> runner;
  std::unique_ptr<PlanHandler> plan_handler;
  std::unique_ptr<PeopleHandler> people_handler;
  std::unique_ptr<AuthHandler> auth_handler;
  std::unique_ptr<AuditHandler> audit_handler;
  std::unique_ptr<EditingHandler> editing_handler;
  std::unique_ptr<SyncHandler> sync_handler;
  std::unique_ptr<OptionGridHandler> grid_handler;
  std::unique_ptr<DecisionHandler> decision_handler;
  std::unique_ptr<ExportHandler> export_handler;
};

namespace {

// Linking gRPC's reflection library registers its plugin for every server builder of the
// process; a builder given this option drops it again.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(),
                       [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                         return dynamic_cast<grpc::reflection::ProtoServerReflectionPlugin*>(
                                    plugin.get()) != nullptr;
                       }),
        plugins->end());
  }
};

struct OpenedDatabase {
  std::unique_ptr<EmbeddedPostgres> embedded;
  std::string conninfo;         // as configured: the schema owner's when embedded
  std::string server_conninfo;  // the role the server works as (data access only)
};

absl::StatusOr<OpenedDatabase> OpenDatabase(const ServerConfig& config) {
  OpenedDatabase opened;
  if (!config.database_url.empty()) {
    opened.conninfo = config.database_url;
    opened.server_conninfo = config.database_url;
    return opened;
  }
  EmbeddedPostgres::Options options;
  options.data_dir = config.data_dir;
  options.os_user = config.embedded_os_user;
  options.durable = config.embedded_durable;
  options.settings = {
      absl::StrCat("max_connections=", std::max(100, config.db_pool_size * 4 + 20))};
  COPLAN_ASSIGN_OR_RETURN(opened.embedded, EmbeddedPostgres::Start(options));
  opened.conninfo = opened.embedded->ConnectionString();
  opened.server_conninfo = opened.embedded->ServerConnectionString();
  return opened;
}

// Demo data (accounts with known passwords, the administrator's too) lives only in an
// embedded database of its own, marked by a file in its data directory: --demo refuses a
// directory that holds a real database, and a server without --demo refuses a demo one.
absl::Status CheckDemoDataDir(const ServerConfig& config) {
  if (!config.database_url.empty()) return absl::OkStatus();  // --demo is refused there
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path marker = fs::path(config.data_dir) / "DEMO-DATA";
  const bool demo_dir = fs::exists(marker, ec);
  const bool used = fs::exists(fs::path(config.data_dir) / "pgdata", ec);
  if (config.demo && !demo_dir && used) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--demo seeds accounts with known passwords, so it runs only in a data directory of "
        "its own, and ",
        config.data_dir, " holds a database that is not a demo: give --data_dir a new one"));
  }
  if (!config.demo && demo_dir) {
    return absl::FailedPreconditionError(absl::StrCat(
        config.data_dir,
        " holds demo data (accounts with known passwords): run it with --demo, or give "
        "--data_dir a new directory"));
  }
  if (config.demo && !demo_dir) {
    fs::create_directories(config.data_dir, ec);
    std::ofstream(marker) << "Demo data of coplan-server --demo: accounts with known "
                             "passwords. Never serve it as a real service.\n";
    if (!fs::exists(marker, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot mark ", config.data_dir, " as a demo data directory"));
    }
  }
  return absl::OkStatus();
}

// Opens the database for the server's own work. The embedded cluster is Coplan's, so its
// schema is brought up to date here, as its owner; an external database must have been
// migrated by its owner (`coplan-server migrate`) before a server starts on it.
absl::StatusOr<OpenedDatabase> OpenDatabaseForServer(const ServerConfig& config) {
  COPLAN_RETURN_IF_ERROR(CheckDemoDataDir(config));
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabase(config));
  if (opened.embedded != nullptr) {
    COPLAN_RETURN_IF_ERROR(ApplyMigrations(opened.conninfo).status());
  }
  COPLAN_RETURN_IF_ERROR(CheckDatabaseIsReadyForServer(opened.server_conninfo));
  return opened;
}

std::string CheckpointFileFor(const ServerConfig& config) {
  if (!config.audit_checkpoint_file.empty()) return config.audit_checkpoint_file;
  if (config.database_url.empty()) return config.data_dir + "/audit-checkpoints.jsonl";
  return "";
}

std::string SecretFileFor(const ServerConfig& config) {
  if (!config.secret_file.empty()) return config.secret_file;
  if (config.database_url.empty()) return config.data_dir + "/secret.key";
  return "";
}

// The components' state at each scrape: streams, pools, the audit trail's checkpoints.
MetricsRegistry::Collector CollectorOf(const Components& c) {
  return [&c](MetricsWriter& out) {
    const WatchHub::Use streams = c.hub->use();
    out.Gauge("coplan_open_streams", "WatchDocument and Sync streams open on this instance", {},
              {{{}, static_cast<double>(streams.streams)}});
    out.Gauge("coplan_followed_documents",
              "Documents followed on this instance's streams (one per stream and document)", {},
              {{{}, static_cast<double>(streams.followed_documents)}});
    const WorkerPool::Use calls = c.workers->use();
    const WorkerPool::Use sign_in = c.sign_in_workers->use();
    const std::vector<std::string> pool = {"pool"};
    out.Gauge("coplan_worker_threads", "Threads of each worker pool", pool,
              {{{"calls"}, static_cast<double>(calls.threads)},
               {{"sign_in"}, static_cast<double>(sign_in.threads)}});
    out.Gauge("coplan_worker_busy_threads", "Worker threads running a task", pool,
              {{{"calls"}, static_cast<double>(calls.busy)},
               {{"sign_in"}, static_cast<double>(sign_in.busy)}});
    out.Gauge("coplan_worker_queued_tasks", "Tasks waiting for a worker thread", pool,
              {{{"calls"}, static_cast<double>(calls.queued)},
               {{"sign_in"}, static_cast<double>(sign_in.queued)}});
    out.Counter("coplan_worker_refused_tasks_total",
                "Tasks refused because the pool's queue was full (answered UNAVAILABLE)", pool,
                {{{"calls"}, static_cast<double>(calls.refused)},
                 {{"sign_in"}, static_cast<double>(sign_in.refused)}});
    const Database::PoolUse db = c.db->pool_use();
    out.Gauge("coplan_db_pool_max_connections", "Database connections this instance may open", {},
              {{{}, static_cast<double>(db.size)}});
    out.Gauge("coplan_db_connections", "Database connections open, by state", {"state"},
              {{{"in_use"}, static_cast<double>(db.open - db.idle)},
               {{"idle"}, static_cast<double>(db.idle)}});
    out.Counter("coplan_db_connections_replaced_total",
                "Database connections replaced after breaking", {},
                {{{}, static_cast<double>(c.db->broken_connections())}});
    out.Counter("coplan_doorbell_reconnects_total",
                "Times the doorbell (LISTEN for other instances' changes) connected again", {},
                {{{}, static_cast<double>(c.doorbell->reconnects())}});
    const absl::Time sealed = c.audit->sealed_as_of();
    out.Gauge(
        "coplan_audit_sealed_as_of_timestamp_seconds",
        "When this instance last found every finished audit row sealed by a checkpoint "
        "(Unix time; 0 before the first); behind by more than a few checkpoint intervals "
        "means a backlog",
        {},
        {{{},
          sealed == absl::InfinitePast() ? 0.0
                                         : static_cast<double>(absl::ToUnixMicros(sealed)) / 1e6}});
  };
}

TlsFiles TlsFilesOf(const ServerConfig& config) {
  return TlsFiles{.cert_file = config.tls_cert_file,
                  .key_file = config.tls_key_file,
                  .client_ca_file = config.tls_client_ca_file,
                  .reload_interval = config.tls_reload_interval};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerApp>> ServerApp::Start(ServerConfig config,
                                                            const Clock& clock) {
  SetMinLogLevel(config.log_level);
  // gRPC locks absl::Mutex on every call; Debian's Abseil records lock graphs for
  // deadlock detection by default, a debugging aid that costs on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (config.instance_id.empty()) config.instance_id = NewResourceId();
  std::unique_ptr<ServerApp> app(new ServerApp(clock));
  app->config_ = std::move(config);
  absl::Status status = app->Build();
  if (!status.ok()) {
    app->Shutdown();
    return status;
  }
  return app;
}

absl::Status ServerApp::Build() {
  // Before anything starts: how the port is served, and that its files are usable.
  COPLAN_RETURN_IF_ERROR(CheckTransportPolicy(config_));
  if (!config_.tls_cert_file.empty()) COPLAN_RETURN_IF_ERROR(CheckTlsFiles(TlsFilesOf(config_)));
  if (!config_.metrics_listen.empty()) {
    COPLAN_ASSIGN_OR_RETURN(metrics_endpoint_,
                            MetricsEndpoint::Start(config_.metrics_listen, Metrics()));
  }
  // An external database needs a secret file.
  if (SecretFileFor(config_).empty()) return LoadServerKeys("", false).status();
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabaseForServer(config_));
  embedded_ = std::move(opened.embedded);
  conninfo_ = opened.server_conninfo;

  components_ = std::make_unique<Components>();
  Components& c = *components_;
  Database::Options db_options;
  db_options.conninfo = conninfo_;
  db_options.pool_size = config_.db_pool_size;
  db_options.max_statement_timeout = config_.max_call_time;
  c.db = std::make_unique<Database>(db_options);
  COPLAN_RETURN_IF_ERROR(c.db->Ping(absl::Now() + absl::Seconds(30)));
  COPLAN_ASSIGN_OR_RETURN(c.keys, LoadServerKeys(SecretFileFor(config_),
                                                 /*create_file=*/config_.database_url.empty() &&
                                                     config_.secret_file.empty()));
  c.document_store = std::make_unique<DocumentStore>(*c.db);
  c.people_store = std::make_unique<PeopleStore>(*c.db);
  c.session_store = std::make_unique<SessionStore>(*c.db);
  c.audit_store = std::make_unique<AuditStore>(*c.db);
  c.grid_store = std::make_unique<GridStore>(*c.db);
  c.decision_store = std::make_unique<DecisionStore>(*c.db);
  c.presence_store = std::make_unique<PresenceStore>(*c.db);
  AuditLog::Options audit_options;
  audit_options.checkpoint_interval = config_.audit_checkpoint_interval;
  audit_options.checkpoint_file = CheckpointFileFor(config_);
  if (audit_options.checkpoint_file.empty()) {
    Log(LogLevel::kWarning, "audit_checkpoints_in_log_only");
  }
  c.audit =
      std::make_unique<AuditLog>(*c.db, *c.audit_store, clock_, c.keys.audit_key, audit_options);
  c.audit->Start();
  PasswordHasher::Options hash_options;
  hash_options.max_concurrent = config_.password_hash_concurrency;
  c.hasher = std::make_unique<PasswordHasher>(hash_options);
  c.sign_in_hasher = std::make_unique<PasswordHasher>(hash_options);

  AuthOptions auth_options;
  auth_options.self_issuer = config_.token_issuer;
  auth_options.token_key = c.keys.token_key;
  auth_options.token_key_file = config_.token_key_file;
  auth_options.providers = config_.oidc_providers;
  Database* db = c.db.get();
  PeopleStore* people_store = c.people_store.get();
  COPLAN_ASSIGN_OR_RETURN(
      c.authenticator,
      Authenticator::Create(
          auth_options,
          [db, people_store](const std::string& issuer, const std::string& subject)
              -> absl::StatusOr<std::optional<LinkedIdentity>> {
            std::optional<LinkedIdentity> link;
            COPLAN_RETURN_IF_ERROR(db->Read(absl::Now() + absl::Seconds(5), [&](Transaction& tx) {
              if (auto found = people_store->FindIdentity(tx, issuer, subject)) {
                link = LinkedIdentity{found->person_id, found->id};
              }
              return absl::OkStatus();
            }));
            return link;
          }));

  // The collections of jointly edited documents, the gate every call passes, the services.
  c.plans = std::make_unique<DocumentCollection>(c.plan_rules);
  c.decisions_collection =
      std::make_unique<DecisionCollection>(c.decision_rules, *c.grid_store, *c.decision_store);
  c.collections.Add(*c.plans);
  c.collections.Add(*c.decisions_collection);
  c.gate = std::make_unique<AccessGate>(*c.db, *c.document_store, c.collections);
  // Every instance on the database derives the same key, so a page from one continues on
  // another.
  c.page_tokens = std::make_unique<PageTokens>(c.keys.page_token_key);
  c.documents = std::make_unique<DocumentService>(*c.db, *c.document_store, *c.gate, *c.page_tokens,
                                                  c.collections, *c.audit);
  OptionGridService::Options grid_options;
  grid_options.reading_age_target = config_.grid_reading_age_target;
  grid_options.reading_age_enforced = config_.grid_reading_age_enforced;
  c.grids = std::make_unique<OptionGridService>(*c.db, *c.grid_store, *c.gate, *c.page_tokens,
                                                grid_options);
  c.decisions = std::make_unique<DecisionService>(*c.db, *c.documents, *c.gate, *c.page_tokens,
                                                  *c.decision_store, *c.grid_store,
                                                  c.decision_rules, *c.audit);
  c.people = std::make_unique<PeopleService>(*c.db, *c.people_store, *c.gate, *c.page_tokens,
                                             *c.audit, *c.hasher);
  c.account_admin =
      std::make_unique<AccountAdmin>(*c.db, *c.people_store, *c.session_store, *c.gate, *c.audit);
  AuthService::Options auth_service_options;
  auth_service_options.token_lifetime = config_.token_lifetime;
  auth_service_options.device_session_lifetime = config_.device_session_lifetime;
  auth_service_options.max_failures = config_.sign_in_max_failures;
  auth_service_options.lock_duration = config_.sign_in_lock_duration;
  auth_service_options.throttle.per_username_per_minute = config_.sign_in_per_username_per_minute;
  auth_service_options.throttle.per_peer_per_minute = config_.sign_in_per_peer_per_minute;
  auth_service_options.device_cookie_key = HmacSha256(c.keys.token_key, "coplan device cookie");
  c.auth =
      std::make_unique<AuthService>(*c.db, *c.people_store, *c.session_store, *c.gate, *c.audit,
                                    *c.sign_in_hasher, *c.authenticator, auth_service_options);
  c.audit_service =
      std::make_unique<AuditService>(*c.db, *c.audit_store, *c.gate, *c.page_tokens, *c.audit);
  c.exports = std::make_unique<ExportService>(
      *c.db, *c.gate, *c.audit,
      ExportSources{c.documents.get(), c.people.get(), c.auth.get(), c.audit_service.get(),
                    c.grids.get(), c.decisions.get()});

  // The live layer: the hub sees documents and presence only through the feed and board.
  c.feed =
      std::make_unique<StoredDocumentFeed>(*c.db, *c.document_store, *c.documents, c.collections);
  c.presence = std::make_unique<StoredPresenceBoard>(*c.db, *c.presence_store, config_.instance_id);
  WatchHub::Options hub_options;
  hub_options.instance_id = config_.instance_id;
  hub_options.queue_limit = static_cast<size_t>(std::max(1, config_.watch_queue_limit));
  hub_options.max_streams_per_person = config_.max_streams_per_person;
  hub_options.access_recheck_interval = config_.watch_access_recheck;
  hub_options.read_audit_interval = config_.stream_read_audit_interval;
  c.hub = std::make_unique<WatchHub>(*c.feed, *c.presence, clock_, hub_options);
  c.doorbell = std::make_unique<Doorbell>(conninfo_, config_.instance_id, c.hub.get());
  c.hub->SetDoorbell(c.doorbell.get());
  c.documents->SetEvents(c.hub.get());
  c.people->SetEvents(c.hub.get());
  c.account_admin->SetEvents(c.hub.get());
  c.auth->SetEvents(c.hub.get());
  c.doorbell->Start();
  c.hub->Start();

  if (config_.demo) {
    DemoServices demo{*c.people, *c.documents, *c.grids, *c.decisions, clock_};
    COPLAN_RETURN_IF_ERROR(SeedDemo(demo));
  }

  const int workers =
      config_.worker_threads > 0 ? config_.worker_threads : config_.db_pool_size + 2;
  c.workers = std::make_unique<WorkerPool>(workers, config_.max_queued_calls);
  // Sign-in's lane: as many threads as hashes run at once, and a short queue (about a
  // second of sign-ins), so a flood is refused there instead of filling the call queue.
  c.sign_in_workers = std::make_unique<WorkerPool>(config_.password_hash_concurrency,
                                                   16 * config_.password_hash_concurrency);
  COPLAN_ASSIGN_OR_RETURN(TrustedProxies trusted_proxies,
                          TrustedProxies::Parse(config_.trusted_proxies));
  c.runner = std::make_unique<RpcRunner>(*c.workers, *c.sign_in_workers, *c.authenticator, clock_,
                                         config_.max_call_time, std::move(trusted_proxies));
  c.plan_handler = std::make_unique<PlanHandler>(*c.runner, *c.documents);
  c.people_handler = std::make_unique<PeopleHandler>(*c.runner, *c.people, *c.account_admin);
  c.auth_handler = std::make_unique<AuthHandler>(*c.runner, *c.auth);
  c.audit_handler = std::make_unique<AuditHandler>(*c.runner, *c.audit_service);
  c.editing_handler = std::make_unique<EditingHandler>(*c.runner, *c.documents, *c.hub);
  c.sync_handler = std::make_unique<SyncHandler>(*c.runner, *c.documents, *c.hub);
  c.grid_handler = std::make_unique<OptionGridHandler>(*c.runner, *c.grids);
  c.decision_handler = std::make_unique<DecisionHandler>(*c.runner, *c.documents, *c.decisions);
  c.export_handler = std::make_unique<ExportHandler>(*c.runner, *c.exports);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!config_.reflection) builder.SetOption(std::make_unique<WithoutReflection>());
  // Plaintext on loopback only, unless --allow_plaintext (CheckTransportPolicy, above).
  std::shared_ptr<grpc::ServerCredentials> credentials =
      config_.tls_cert_file.empty() ? grpc::InsecureServerCredentials()
                                    : MakeTlsServerCredentials(TlsFilesOf(config_));
  builder.AddListeningPort(config_.listen, credentials, &port_);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  if (config_.grpc_memory_quota_mb > 0) {
    // Bounds what gRPC holds for connections and messages in flight: past it, gRPC shrinks
    // its buffers and refuses new calls rather than growing until the process is killed.
    grpc::ResourceQuota quota("coplan-server");
    quota.Resize(static_cast<size_t>(config_.grpc_memory_quota_mb) * 1024 * 1024);
    builder.SetResourceQuota(quota);
  }
  // Find dead peers of long-lived watch streams.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  // Devices ping every 30 s to keep their sync stream through NAT and mobile networks
  // (client-lib remote/server_connection.cc); gRPC's default policy (one ping per 5 min
  // without data) would answer them with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20000);
  builder.RegisterService(c.plan_handler.get());
  builder.RegisterService(c.people_handler.get());
  builder.RegisterService(c.auth_handler.get());
  builder.RegisterService(c.audit_handler.get());
  builder.RegisterService(c.editing_handler.get());
  builder.RegisterService(c.sync_handler.get());
  builder.RegisterService(c.grid_handler.get());
  builder.RegisterService(c.decision_handler.get());
  builder.RegisterService(c.export_handler.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config_.listen));
  }
  if (metrics_endpoint_ != nullptr) metrics_collector_ = Metrics().AddCollector(CollectorOf(c));
  if (!config_.health_listen.empty()) {
    // No service but the default health service (and no reflection): it says only
    // whether this instance serves, so it may be plaintext on any address.
    grpc::ServerBuilder health;
    health.SetOption(std::make_unique<WithoutReflection>());
    // Answers every other method UNIMPLEMENTED; gRPC also needs a service of its own on a
    // server before it polls (the default health service does not count).
    health_fallback_ = std::make_unique<grpc::CallbackGenericService>();
    health.RegisterCallbackGenericService(health_fallback_.get());
    health.AddListeningPort(config_.health_listen, grpc::InsecureServerCredentials(),
                            &health_port_);
    health_server_ = health.BuildAndStart();
    if (health_server_ == nullptr || health_port_ == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("--health_listen=", config_.health_listen,
                       ": cannot listen there (is the port in use?)"));
    }
    health_server_->GetHealthCheckService()->SetServingStatus(true);
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  Log(LogLevel::kInfo, "server_started")
      .Str("address", address())
      .Str("database", embedded_ ? "embedded" : "external")
      .Str("tls", config_.tls_cert_file.empty()        ? "off"
                  : config_.tls_client_ca_file.empty() ? "on"
                                                       : "mutual")
      .Str("instance", config_.instance_id);
  return absl::OkStatus();
}

ServerApp::ServerApp(const Clock& clock) : clock_(clock) {}

ServerApp::~ServerApp() { Shutdown(); }

std::string ServerApp::health_address() const {
  if (health_server_ == nullptr) return "";
  const size_t colon = config_.health_listen.rfind(':');
  return absl::StrCat(config_.health_listen.substr(0, colon), ":", health_port_);
}

std::string ServerApp::metrics_address() const {
  return metrics_endpoint_ != nullptr ? metrics_endpoint_->address() : "";
}

std::string ServerApp::address() const {
  const size_t colon = config_.listen.rfind(':');
  return absl::StrCat(config_.listen.substr(0, colon), ":", port_);
}

Database& ServerApp::database() { return *components_->db; }
AuditLog& ServerApp::audit() { return *components_->audit; }
const AccessGate& ServerApp::gate() const { return *components_->gate; }

void ServerApp::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Probes see NOT_SERVING first, so that no new call is sent here while calls drain.
  if (health_server_ != nullptr) health_server_->GetHealthCheckService()->SetServingStatus(false);
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    Log(LogLevel::kInfo, "server_stopping");
    // Watch streams never end by themselves: end them first (clients resume elsewhere).
    if (components_ != nullptr && components_->hub) components_->hub->Stop();
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(config_.shutdown_grace));
  }
  if (components_ != nullptr) {
    if (components_->workers) components_->workers->Shutdown();
    if (components_->sign_in_workers) components_->sign_in_workers->Shutdown();
    if (components_->hub) components_->hub->Stop();
    if (components_->doorbell) components_->doorbell->Stop();
    if (components_->audit) components_->audit->Stop();
  }
  server_.reset();
  if (health_server_ != nullptr) health_server_->Shutdown(std::chrono::system_clock::now());
  health_server_.reset();
  metrics_collector_.reset();  // waits for a scrape reading the components
  metrics_endpoint_.reset();
  components_.reset();
  if (embedded_ != nullptr) {
    if (!embedded_->Stop().ok()) Log(LogLevel::kError, "embedded_postgres_stop_failed");
    embedded_.reset();
  }
  Log(LogLevel::kInfo, "server_stopped");
}

absl::Status RunMigrations(const ServerConfig& config) {
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabase(config));
  COPLAN_ASSIGN_OR_RETURN(MigrationReport report, ApplyMigrations(opened.conninfo));
  std::cout << "migrations: " << report.applied.size() << " applied, " << report.already_applied
            << " already applied\n";
  for (const auto& name : report.applied) std::cout << "  applied " << name << "\n";
  return absl::OkStatus();
}

absl::Status RunMoveSecretToFile(const ServerConfig& config) {
  if (config.database_url.empty() || config.secret_file.empty()) {
    return absl::InvalidArgumentError(
        "move-secret-to-file needs --database_url (the schema owner's) and --secret_file (a "
        "new file to hold the secret)");
  }
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabase(config));
  Database::Options options;
  options.conninfo = opened.conninfo;
  options.pool_size = 1;
  Database db(options);
  COPLAN_ASSIGN_OR_RETURN(std::optional<std::string> secret, ReadDatabaseSecret(db));
  if (!secret) {
    return absl::NotFoundError(
        "the database holds no secret: nothing to move (give the servers a new --secret_file)");
  }
  // The file first, then the row: a failure in between leaves the secret in both places,
  // never in neither (the audit trail sealed with it must stay verifiable).
  COPLAN_RETURN_IF_ERROR(WriteSecretFile(config.secret_file, *secret));
  COPLAN_RETURN_IF_ERROR(DeleteDatabaseSecret(db));
  std::cout << "moved the master secret to " << config.secret_file
            << "; start every server with --secret_file pointing at a copy of it\n";
  return absl::OkStatus();
}

absl::Status RunRotateTokenKey(const ServerConfig& config, absl::Time now) {
  if (config.token_key_file.empty()) {
    return absl::InvalidArgumentError("rotate-token-key needs --token_key_file");
  }
  TokenKeys keys;
  if (::access(config.token_key_file.c_str(), F_OK) == 0) {
    COPLAN_ASSIGN_OR_RETURN(keys, ReadTokenKeyFile(config.token_key_file));
  }
  // Every instance re-reads the file within 30 s: five minutes leave room for copying it
  // to them all before any signs with the new key.
  keys.Rotate(now, absl::Minutes(5), config.token_lifetime);
  COPLAN_RETURN_IF_ERROR(WriteTokenKeyFile(config.token_key_file, keys));
  std::cout << "token keys in " << config.token_key_file << ": " << keys.keys().size()
            << "; the new one (" << keys.keys().front().kid
            << ") signs from 5 minutes from now; give every instance this file\n";
  return absl::OkStatus();
}

absl::Status RunAuditVerify(const ServerConfig& config) {
  // Reads only: nothing is migrated, sealed or checkpointed by a verification.
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabase(config));
  Database::Options options;
  options.conninfo = opened.server_conninfo;
  options.pool_size = 2;
  Database db(options);
  COPLAN_ASSIGN_OR_RETURN(ServerKeys keys,
                          LoadServerKeys(SecretFileFor(config), /*create_file=*/false));
  AuditStore store(db);
  std::vector<std::string> files;
  if (const std::string file = CheckpointFileFor(config); !file.empty()) {
    if (std::ifstream(file)) {
      files.push_back(file);
    } else if (!config.audit_checkpoint_file.empty()) {
      return absl::NotFoundError(absl::StrCat("the checkpoint file ", file, " does not exist"));
    }
  }
  AuditVerification report = VerifyAuditTrail(db, store, keys.audit_key, files);
  std::cout << "audit trail: " << report.rows << " rows, " << report.checkpoints << " checkpoints ("
            << report.rows_after_last_checkpoint
            << " rows newer than the last, checked by MAC only), " << report.file_checkpoints
            << " checkpoints matched in " << (files.empty() ? "no file" : files[0]) << "\n";
  for (const auto& note : report.notes) std::cout << "  NOTE: " << note << "\n";
  for (const auto& problem : report.problems) std::cout << "  PROBLEM: " << problem << "\n";
  std::cout << (report.ok ? "intact\n" : "TAMPERED\n");
  if (!report.ok) return absl::DataLossError("the audit trail has been altered");
  return absl::OkStatus();
}

absl::Status RunCreateAdmin(const ServerConfig& config, const std::string& username,
                            const std::string& display_name, const std::string& password) {
  COPLAN_ASSIGN_OR_RETURN(OpenedDatabase opened, OpenDatabaseForServer(config));
  Database::Options options;
  options.conninfo = opened.server_conninfo;
  options.pool_size = 2;
  Database db(options);
  COPLAN_ASSIGN_OR_RETURN(
      ServerKeys keys, LoadServerKeys(SecretFileFor(config),
                                      config.database_url.empty() && config.secret_file.empty()));
  DocumentStore document_store(db);
  PeopleStore people_store(db);
  AuditStore audit_store(db);
  AuditLog::Options audit_options;
  audit_options.checkpoint_file = CheckpointFileFor(config);
  AuditLog audit(db, audit_store, SystemClock(), keys.audit_key, audit_options);
  PasswordHasher hasher({});
  DocumentCollections no_collections;
  AccessGate gate(db, document_store, no_collections);
  const PageTokens page_tokens(keys.page_token_key);
  PeopleService people(db, people_store, gate, page_tokens, audit, hasher);
  COPLAN_ASSIGN_OR_RETURN(std::string normalized, NormalizeUsername(username, "username"));
  if (password.size() < 12)
    return absl::InvalidArgumentError("the password needs 12 characters or more");
  v1::Person person;
  person.set_display_name(display_name);
  person.set_administrator(true);
  const std::string id = NewResourceId();
  COPLAN_RETURN_IF_ERROR(people.RegisterDirectly(person, id, normalized, password).status());
  COPLAN_RETURN_IF_ERROR(audit.Checkpoint().status());
  std::cout << "created administrator people/" << id << " with username " << normalized << "\n";
  return absl::OkStatus();
}

}  // namespace coplan
