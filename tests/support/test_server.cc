#include "tests/support/test_server.h"

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "tests/support/test_cluster.h"

namespace coplan::testing {
namespace {

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::cerr << "test server: " << what << ": " << status << "\n";
    std::abort();
  }
}

}  // namespace

google::type::Date Date(int year, int month, int day) {
  google::type::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

google::type::Date BirthDateTurning(int years, int days_from_today) {
  const absl::CivilDay birthday = TodayInUk(absl::Now()) + days_from_today;
  return ToDate(absl::CivilDay(birthday.year() - years, birthday.month(), birthday.day()));
}

std::unique_ptr<TestServer> TestServer::Start(Options options) {
  std::unique_ptr<TestServer> server(new TestServer());
  server->conninfo_ =
      options.conninfo.empty() ? TestCluster::Get().NewDatabase() : options.conninfo;
  // As in production: the schema owner migrates, the server works as a data-only role.
  server->server_conninfo_ = TestCluster::Get().MigrateForServer(server->conninfo_);
  server->secret_file_ = options.secret_file;
  if (server->secret_file_.empty()) {
    server->secret_file_ = MakeTempDir("coplan-test-secret") + "/secret.key";
    std::ofstream(server->secret_file_) << NewRandomToken(32);
  }
  server->client_credentials_ = options.client_credentials;
  ServerConfig& config = server->config_;
  config.listen = "127.0.0.1:0";
  config.database_url = server->server_conninfo_;
  config.secret_file = server->secret_file_;
  config.db_pool_size = 4;
  config.shutdown_grace = absl::Seconds(2);
  config.log_level = LogLevel::kWarning;
  if (options.configure) options.configure(config);
  if (options.conninfo.empty()) {
    Check(RunCreateAdmin(config, "admin", "Test administrator", kPassword), "create admin");
  }
  auto app = ServerApp::Start(config, options.clock != nullptr ? *options.clock : SystemClock());
  Check(app.status(), "start");
  server->app_ = std::move(app).value();
  server->admin_ = server->SignInAs("admin");
  return server;
}

std::unique_ptr<TestServer> TestServer::Start() { return Start(Options()); }

TestServer::~TestServer() { Stop(); }

void TestServer::Stop() {
  if (app_ != nullptr) app_->Shutdown();
}

std::unique_ptr<coplan::client::remote::RpcClient> TestServer::NewClient() const {
  coplan::client::remote::RpcClientOptions options;
  options.target = address();
  options.credentials = client_credentials_;
  options.default_deadline = absl::Seconds(30);
  return std::make_unique<coplan::client::remote::RpcClient>(options);
}

std::unique_ptr<coplan::client::remote::RpcClient> TestServer::SignInAs(
    const std::string& id) const {
  auto client = NewClient();
  Check(client->SignIn(id, kPassword), "sign in");
  return client;
}

TestUser TestServer::CreateUser(const std::string& display_name, UserOptions options) {
  v1::CreatePersonRequest create;
  create.set_person_id(options.id.empty() ? NewResourceId() : options.id);
  auto* person = create.mutable_person();
  person->set_display_name(display_name);
  if (options.birth_date) *person->mutable_birth_date() = *options.birth_date;
  person->set_clinician(options.clinician);
  person->set_grid_author(options.grid_author);
  person->set_administrator(options.administrator);
  person->set_team(options.team);
  person->set_nhs_number(options.nhs_number);
  auto created = admin_->Call(&v1::PeopleService::Stub::CreatePerson, create);
  Check(created.status(), "create person");
  v1::CreateAccountRequest account;
  account.set_parent(created->name());
  account.set_username(create.person_id());
  account.set_password(kPassword);
  Check(admin_->Call(&v1::PeopleService::Stub::CreateAccount, account).status(), "create account");
  TestUser user;
  user.id = create.person_id();
  user.name = created->name();
  user.client = SignInAs(user.id);
  return user;
}

}  // namespace coplan::testing
