#include "bench/environment.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace coplan::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kAdminUsername[] = "bench-admin";
constexpr char kUserId[] = "bench-user";
constexpr char kServingPrefix[] = "Coplan is serving on ";
// What the server adds to a plan (name, revision, etag, times, creator, last editor,
// agreement): subtracted from the aimed-for size when building a plan's content.
constexpr size_t kServerFieldsBytes = 130;
// The schema allows at most 50 warning signs.
constexpr int kMaxItems = 50;

std::string RandomHex(int bytes) {
  std::random_device device;
  std::string out;
  for (int i = 0; i < bytes; ++i) out += absl::StrFormat("%02x", device() & 0xff);
  return out;
}

// Plausible warning-sign text of exactly `length` characters.
std::string WarningSignText(int index, size_t length) {
  static const char* const kPhrases[] = {
      "Not sleeping for more than two nights in a row. ",
      "Stopping answering the phone to friends and family. ",
      "Spending whole days in bed with the curtains closed. ",
      "Thinking that everyone would be better off without me. ",
      "Drinking more than usual, especially alone in the evening. ",
      "Skipping meals and forgetting to take my medication. ",
  };
  std::string text;
  for (int i = index; text.size() < length; ++i) text += kPhrases[i % 6];
  text.resize(length);
  while (!text.empty() && text.back() == ' ') text.back() = '.';
  return text;
}

v1::CreatePlanRequest PlanRequest(const std::string& parent, int index, size_t payload_bytes,
                                  std::vector<std::string>* ids) {
  v1::CreatePlanRequest request;
  request.set_parent(parent);
  request.set_plan_id(absl::StrFormat("bench-plan-%05d", index));
  v1::Plan* plan = request.mutable_plan();
  plan->set_title(absl::StrCat("Crisis plan ", index));
  v1::CrisisPlan* crisis = plan->mutable_crisis_plan();
  const size_t content =
      payload_bytes > kServerFieldsBytes ? payload_bytes - kServerFieldsBytes : 0;
  // Items of about 80 characters, longer when needed to reach the size in 50 items.
  const size_t item_length = std::clamp<size_t>(content / kMaxItems + 1, 80, 2000);
  ids->clear();
  while (plan->ByteSizeLong() < content && crisis->warning_signs_size() < kMaxItems) {
    const size_t room = content - plan->ByteSizeLong();
    auto* sign = crisis->add_warning_signs();
    sign->set_id(absl::StrCat("w", crisis->warning_signs_size() - 1));
    // The tag and length bytes of an item take about 8 bytes.
    sign->set_text(WarningSignText(index + crisis->warning_signs_size(),
                                   std::clamp<size_t>(room > 8 ? room - 8 : 1, 1, item_length)));
    ids->push_back(sign->id());
  }
  if (ids->empty()) {
    auto* sign = crisis->add_warning_signs();
    sign->set_id("w0");
    sign->set_text(WarningSignText(index, 20));
    ids->push_back("w0");
  }
  return request;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BenchEnvironment>> BenchEnvironment::Create(const Options& options) {
  std::unique_ptr<BenchEnvironment> env(new BenchEnvironment());
  absl::Status status = env->Build(options);
  if (!status.ok()) {
    if (env->server_a_ || env->server_b_) {
      return absl::Status(status.code(),
                          absl::StrCat(status.message(), "\n", env->ServerLogTails()));
    }
    return status;  // the destructor cleans up what was made
  }
  return env;
}

absl::Status BenchEnvironment::Build(const Options& options) {
  server_binary_ = options.server_binary;
  if (access(server_binary_.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no coplan-server at ", server_binary_,
                                            " (use --server_binary or COPLAN_SERVER_BINARY)"));
  }
  char pattern[] = "/tmp/coplan-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr)
    return absl::InternalError("cannot create a temporary directory");
  work_dir_ = pattern;
  // PostgreSQL runs as an unprivileged account that must reach its data directory.
  ::chmod(work_dir_.c_str(), 0755);

  EmbeddedPostgres::Options pg;
  pg.data_dir = work_dir_ + "/pg";
  pg.durable = true;  // fsync and synchronous_commit on: edits are measured as durable
  pg.settings = {"max_connections=300"};
  auto started = EmbeddedPostgres::Start(pg);
  if (!started.ok()) return started.status();
  postgres_ = std::move(started).value();
  // As deployed: the schema owner migrates; the servers work as a data-only role.
  conninfo_ = postgres_->ServerConnectionString();
  Subprocess::Options migrate;
  migrate.argv = {server_binary_, "migrate", "--database_url=" + postgres_->ConnectionString(),
                  "--log_level=warning"};
  migrate.stdout_file = work_dir_ + "/migrate.out";
  migrate.stderr_file = work_dir_ + "/migrate.err";
  auto migrate_process = StartChild(migrate);
  if (!migrate_process.ok()) return migrate_process.status();
  auto migrate_exit = (*migrate_process)->Wait(absl::Minutes(2));
  if (!migrate_exit.ok()) return migrate_exit.status();
  if (*migrate_exit != 0) {
    return absl::InternalError(absl::StrCat("migrate failed (exit ", *migrate_exit, "):\n",
                                            TailOfFile(migrate.stderr_file)));
  }

  secret_file_ = work_dir_ + "/secret.key";
  {
    std::ofstream secret(secret_file_);
    secret << RandomHex(32) << "\n";
  }
  ::chmod(secret_file_.c_str(), 0600);

  const std::string admin_password = RandomHex(12);
  Subprocess::Options create_admin;
  create_admin.argv = {server_binary_,
                       "create-admin",
                       kAdminUsername,
                       "Bench Administrator",
                       "--database_url=" + conninfo_,
                       "--secret_file=" + secret_file_,
                       "--log_level=warning"};
  create_admin.stdin_data = admin_password + "\n";
  create_admin.stdout_file = work_dir_ + "/create-admin.out";
  create_admin.stderr_file = work_dir_ + "/create-admin.err";
  auto admin_process = StartChild(create_admin);
  if (!admin_process.ok()) return admin_process.status();
  auto admin_exit = (*admin_process)->Wait(absl::Minutes(2));
  if (!admin_exit.ok()) return admin_exit.status();
  if (*admin_exit != 0) {
    return absl::InternalError(absl::StrCat("create-admin failed (exit ", *admin_exit, "):\n",
                                            TailOfFile(create_admin.stderr_file)));
  }

  // Both instances start side by side on the migrated schema.
  auto a = StartServer("a", &target_a_);
  if (!a.ok()) return a.status();
  server_a_ = std::move(a).value();
  auto b = StartServer("b", &target_b_);
  if (!b.ok()) return b.status();
  server_b_ = std::move(b).value();
  for (auto* server : {server_a_.get(), server_b_.get()}) {
    auto address = server->WaitForLine(kServingPrefix, absl::Minutes(1));
    if (!address.ok()) return address.status();
    (server == server_a_.get() ? target_a_ : target_b_) = *address;
  }

  coplan::client::remote::RpcClientOptions client_options;
  client_options.target = target_a_;
  client_options.default_deadline = absl::Seconds(60);
  coplan::client::remote::RpcClient admin(client_options);
  if (auto status = admin.SignIn(kAdminUsername, admin_password); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("admin sign-in: ", status.message()));
  }
  v1::CreatePersonRequest person;
  person.set_person_id(kUserId);
  person.mutable_person()->set_display_name("Bench User");
  auto created = admin.Call(&v1::PeopleService::Stub::CreatePerson, person);
  if (!created.ok()) return created.status();
  username_ = kUserId;
  user_password_ = RandomHex(12);
  v1::CreateAccountRequest account;
  account.set_parent(created->name());
  account.set_username(kUserId);
  account.set_password(user_password_);
  if (auto made = admin.Call(&v1::PeopleService::Stub::CreateAccount, account); !made.ok()) {
    return made.status();
  }
  user_ = std::make_unique<coplan::client::remote::RpcClient>(client_options);
  if (auto status = user_->SignIn(kUserId, user_password_); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("user sign-in: ", status.message()));
  }
  token_ = user_->token();
  return CreatePlans(options);
}

absl::StatusOr<std::unique_ptr<Subprocess>> BenchEnvironment::StartServer(
    const std::string& instance, std::string* target) {
  Subprocess::Options server;
  server.argv = {server_binary_, "--database_url=" + conninfo_, "--listen=127.0.0.1:0",
                 "--secret_file=" + secret_file_, "--instance_id=" + instance,
                 // Every watcher and device of the bench's fleets signs in as one person.
                 "--max_streams_per_person=1000000", "--log_level=warning"};
  server.stdout_file = absl::StrCat(work_dir_, "/server-", instance, ".out");
  server.stderr_file = absl::StrCat(work_dir_, "/server-", instance, ".log");
  target->clear();
  return StartChild(server);
}

absl::Status BenchEnvironment::CreatePlans(const Options& options) {
  const std::string parent = user_->person();
  for (int i = 0; i < options.plans; ++i) {
    std::vector<std::string> ids;
    v1::CreatePlanRequest request =
        PlanRequest(parent, i, static_cast<size_t>(std::max(0, options.payload_bytes)), &ids);
    auto plan = user_->Call(&v1::PlanService::Stub::CreatePlan, request);
    if (!plan.ok()) {
      return absl::Status(plan.status().code(),
                          absl::StrCat("creating plan ", i, ": ", plan.status().message()));
    }
    plans_.push_back(plan->name());
    // Every plan has the same items (their count depends only on the size).
    if (item_ids_.empty() || ids.size() < item_ids_.size()) item_ids_ = ids;
  }
  if (plans_.empty()) return absl::InvalidArgumentError("--plans must be at least 1");
  v1::GetPlanRequest get;
  get.set_name(plans_.front());
  auto plan = user_->Call(&v1::PlanService::Stub::GetPlan, get);
  if (!plan.ok()) return plan.status();
  plan_response_bytes_ = plan->ByteSizeLong();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> BenchEnvironment::CurrentRevision(const std::string& plan) const {
  v1::GetPlanRequest get;
  get.set_name(plan);
  auto got = user_->Call(&v1::PlanService::Stub::GetPlan, get);
  if (!got.ok()) return got.status();
  return got->revision();
}

bool BenchEnvironment::ServersRunning() const {
  return server_a_ && server_b_ && server_a_->Running() && server_b_->Running();
}

std::string BenchEnvironment::ServerLogTails() const {
  std::string out;
  for (const auto* server : {server_a_.get(), server_b_.get()}) {
    if (server == nullptr) continue;
    absl::StrAppend(&out, "--- ", server->options().stderr_file, " ---\n",
                    TailOfFile(server->options().stderr_file), "\n");
  }
  return out;
}

BenchEnvironment::~BenchEnvironment() {
  user_.reset();
  // Servers first: they hold database connections and end their watch streams.
  // Both are asked to stop at once, so that their shutdowns overlap.
  for (auto* server : {server_a_.get(), server_b_.get()}) {
    if (server != nullptr && server->Running()) kill(server->pid(), SIGTERM);
  }
  if (server_a_) server_a_->Terminate();
  if (server_b_) server_b_->Terminate();
  if (postgres_) {
    if (auto status = postgres_->Stop(); !status.ok()) {
      std::cerr << "coplan-bench: stopping PostgreSQL: " << status << "\n";
    }
  }
  if (!work_dir_.empty()) {
    std::error_code error;
    fs::remove_all(work_dir_, error);
    if (error)
      std::cerr << "coplan-bench: cannot remove " << work_dir_ << ": " << error.message() << "\n";
  }
}

}  // namespace coplan::bench
