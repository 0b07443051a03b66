// A Coplan server running in this process on a real port, on a fresh database of the
// test cluster, with an administrator signed in. Clients talk to it over real gRPC.
//
//   auto server = TestServer::Start();
//   TestUser alex = server->CreateUser("Alex", {.birth_date = Date(2009, 3, 14)});
//   auto plan = alex.client->Call(&v1::PlanService::Stub::CreatePlan, request);
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "remote/rpc_client.h"
#include "server/app/config.h"
#include "server/app/server_app.h"
#include "server/common/clock.h"

namespace coplan::testing {

struct UserOptions {
  std::optional<google::type::Date> birth_date;
  bool clinician = false;
  bool grid_author = false;
  bool administrator = false;
  std::string team;  // "teams/{team}"
  std::string id;    // chosen id; random when empty
  std::string nhs_number;
};

struct TestUser {
  std::string id;
  std::string name;  // "people/{id}"
  std::unique_ptr<coplan::client::remote::RpcClient> client;
};

class TestServer {
 public:
  struct Options {
    // Adjusts the configuration before start (e.g. a smaller watch queue).
    std::function<void(ServerConfig&)> configure;
    // Reuse a database (e.g. a second instance); a fresh one when empty.
    std::string conninfo;
    // Reuse a secret file (instances of one deployment share it).
    std::string secret_file;
    // What time it is for the server's rules; the real clock when null.
    const Clock* clock = nullptr;
    // How the test's clients connect (TLS to a server configured for it); plaintext when
    // null.
    std::shared_ptr<grpc::ChannelCredentials> client_credentials;
  };

  static std::unique_ptr<TestServer> Start(Options options);
  static std::unique_ptr<TestServer> Start();
  ~TestServer();

  std::string address() const { return app_->address(); }
  // The database as its owner (a superuser of the test cluster: for tests that reach
  // past the server), and as the data-only role the server itself connects as.
  const std::string& conninfo() const { return conninfo_; }
  const std::string& server_conninfo() const { return server_conninfo_; }
  const std::string& secret_file() const { return secret_file_; }
  ServerApp& app() { return *app_; }
  const ServerConfig& config() const { return config_; }

  // A client with no token.
  std::unique_ptr<coplan::client::remote::RpcClient> NewClient() const;
  coplan::client::remote::RpcClient& admin() { return *admin_; }

  // Registers a person with an account (through the API, as the administrator) and
  // returns a client signed in as them.
  TestUser CreateUser(const std::string& display_name, UserOptions options = {});
  // Signs in again as an existing test user (a second device).
  std::unique_ptr<coplan::client::remote::RpcClient> SignInAs(const std::string& id) const;

  // Stops the server (graceful), keeping the database.
  void Stop();

  static constexpr const char* kPassword = "test-password-123";

 private:
  TestServer() = default;
  ServerConfig config_;
  std::string conninfo_;
  std::string server_conninfo_;
  std::string secret_file_;
  std::shared_ptr<grpc::ChannelCredentials> client_credentials_;
  std::unique_ptr<ServerApp> app_;
  std::unique_ptr<coplan::client::remote::RpcClient> admin_;
};

google::type::Date Date(int year, int month, int day);
// The birth date of someone who turns `years` old `days_from_today` days from today (UK
// date): BirthDateTurning(16, 10) is 15 for ten more days; BirthDateTurning(16, -10)
// turned 16 ten days ago.
google::type::Date BirthDateTurning(int years, int days_from_today);

}  // namespace coplan::testing
