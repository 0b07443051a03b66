// The real coplan-server binary, as an operator runs it: the embedded database with demo
// data, a client in another process, SIGKILL after an acknowledged update (nothing lost,
// also when PostgreSQL itself is killed), graceful SIGTERM with open watch streams, and
// `coplan-server migrate` on its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "remote/rpc_client.h"
#include "server/common/ids.h"
#include "tests/support/edit_operations.h"
#include "tests/support/grpc_probe.h"
#include "tests/support/process.h"
#include "tests/support/test_cluster.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerProcess;

std::unique_ptr<client::remote::RpcClient> SignedIn(const std::string& address,
                                                    const std::string& user,
                                                    const std::string& password) {
  auto client = std::make_unique<client::remote::RpcClient>(
      client::remote::RpcClientOptions{.target = address});
  EXPECT_TRUE(client->SignIn(user, password).ok());
  return client;
}

bool PostgresRunning(const std::string& data_dir) {
  return std::filesystem::exists(data_dir + "/pgdata/postmaster.pid");
}

// A new secret file (every server on an external database needs one).
std::string NewSecretFile() {
  const std::string path = testing::MakeTempDir("coplan-test-secret") + "/secret.key";
  std::ofstream(path) << NewRandomToken(32);
  return path;
}

class ServerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { data_dir_ = testing::MakeTempDir("coplan-test-process"); }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  absl::StatusOr<std::unique_ptr<ServerProcess>> StartDemo() {
    return ServerProcess::Start({"--demo", "--data_dir=" + data_dir_, "--listen=127.0.0.1:0",
                                 "--log_level=warning", "--shutdown_grace=5s"});
  }

  std::string data_dir_;
};

TEST_F(ServerProcessTest, ServesTheDemoOnItsOwnDatabaseAndLosesNothingWhenKilled) {
  auto server = StartDemo();
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto health = testing::CheckHealth(channel);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 1);
  auto services = testing::ListServicesByReflection(channel);
  ASSERT_TRUE(services.ok());
  for (const char* service : {"coplan.v1.PlanService", "coplan.v1.EditingService",
                              "coplan.v1.OptionGridService", "coplan.v1.DecisionService"}) {
    EXPECT_THAT(*services, Contains(service));
  }
  if (::geteuid() == 0) {
    // As root, PostgreSQL runs as the unprivileged account that owns its files.
    struct stat info;
    ASSERT_EQ(::stat((data_dir_ + "/pgdata").c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, ::getpwnam("postgres")->pw_uid);
  }

  auto alex = SignedIn((*server)->address(), "alex", "alex-demo-password");
  v1::GetPlanRequest get;
  get.set_name("people/alex/plans/crisis-plan");
  auto plan = alex->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(plan.ok()) << plan.status();
  v1::GetOptionGridRequest grid;
  grid.set_name("optionGrids/low-mood-first-steps");
  auto low_mood = alex->Call(&v1::OptionGridService::Stub::GetOptionGrid, grid);
  ASSERT_TRUE(low_mood.ok()) << low_mood.status();
  EXPECT_EQ(low_mood->options_size(), 4);
  auto jordan = SignedIn((*server)->address(), "jordan", "jordan-demo-password");
  EXPECT_TRUE(jordan->Call(&v1::PlanService::Stub::GetPlan, get).ok());  // shared with the carer
  get.set_name("people/alex/plans/care-plan");
  EXPECT_EQ(jordan->Call(&v1::PlanService::Stub::GetPlan, get).status().code(),
            absl::StatusCode::kNotFound);

  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name("people/alex/plans/crisis-plan");
  update.mutable_plan()->set_title("Updated just before the crash");
  update.mutable_plan()->set_etag(plan->etag());
  update.mutable_update_mask()->add_paths("title");
  auto acknowledged = alex->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(acknowledged.ok()) << acknowledged.status();

  (*server)->Signal(SIGKILL);
  (*server)->Wait(absl::Seconds(10));
  server->reset();
  auto restarted = StartDemo();  // --demo again: must not seed twice
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  alex = SignedIn((*restarted)->address(), "alex", "alex-demo-password");
  get.set_name("people/alex/plans/crisis-plan");
  auto after = alex->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->title(), "Updated just before the crash");
  EXPECT_EQ(after->revision(), acknowledged->revision());
  v1::ListPlansRequest list;
  list.set_parent("people/alex");
  EXPECT_EQ(alex->Call(&v1::PlanService::Stub::ListPlans, list)->plans_size(), 2);

  // Now PostgreSQL itself dies right after an acknowledged edit.
  v1::EditDocumentRequest edit;
  edit.set_name("people/alex/plans/crisis-plan");
  edit.set_base_revision(after->revision());
  edit.set_idempotency_key("before-database-crash");
  *edit.add_operations() = testing::SetOp("title", "\"Edited before the database crashed\"");
  auto edited = alex->Call(&v1::EditingService::Stub::EditDocument, edit);
  ASSERT_TRUE(edited.ok()) << edited.status();
  std::ifstream pid_file(data_dir_ + "/pgdata/postmaster.pid");
  pid_t postmaster = 0;
  pid_file >> postmaster;
  ASSERT_GT(postmaster, 0);
  (*restarted)->Signal(SIGKILL);
  (*restarted)->Wait(absl::Seconds(10));
  ::kill(postmaster, SIGKILL);
  for (int i = 0; i < 200 && ::kill(postmaster, 0) == 0; ++i)
    absl::SleepFor(absl::Milliseconds(25));
  restarted->reset();
  absl::SleepFor(absl::Milliseconds(500));  // backends notice their postmaster is gone
  auto recovered = StartDemo();
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  alex = SignedIn((*recovered)->address(), "alex", "alex-demo-password");
  auto final_plan = alex->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(final_plan.ok()) << final_plan.status();
  EXPECT_EQ(final_plan->title(), "Edited before the database crashed");

  // Graceful stop: the open watch ends with UNAVAILABLE, the process exits 0, and the
  // embedded PostgreSQL is stopped.
  auto watch = std::make_unique<testing::WatchCollector>(*alex, "people/alex/plans/crisis-plan");
  ASSERT_TRUE(watch->WaitFor([](const auto& events) { return !events.empty(); }));
  (*recovered)->Signal(SIGTERM);
  EXPECT_EQ((*recovered)->Wait(absl::Seconds(20)), 0) << (*recovered)->Output();
  ASSERT_TRUE(watch->WaitForEnd());
  EXPECT_EQ(watch->status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(PostgresRunning(data_dir_));
}

// The demo seeds known passwords (the administrator's too): only into an embedded
// database of its own, never served without --demo, never into a real one.
TEST_F(ServerProcessTest, DemoDataStaysInADataDirectoryOfItsOwn) {
  auto& cluster = testing::TestCluster::Get();
  auto external = testing::RunProgram(
      {testing::ServerBinary(), "--demo", "--database_url=" + cluster.NewDatabase(),
       "--secret_file=" + NewSecretFile(), "--listen=127.0.0.1:0"},
      "", absl::Seconds(60));
  EXPECT_EQ(external.exit_code, 1);
  EXPECT_THAT(external.output, HasSubstr("refused with --database_url"));

  auto demo = StartDemo();
  ASSERT_TRUE(demo.ok()) << demo.status();
  (*demo)->Signal(SIGTERM);
  ASSERT_EQ((*demo)->Wait(absl::Seconds(30)), 0);
  auto real_on_demo = testing::RunProgram(
      {testing::ServerBinary(), "--data_dir=" + data_dir_, "--listen=127.0.0.1:0"}, "",
      absl::Seconds(60));
  EXPECT_NE(real_on_demo.exit_code, 0);
  EXPECT_THAT(real_on_demo.output, HasSubstr("holds demo data"));

  // A real embedded database is never seeded with demo accounts.
  const std::string real_dir = testing::MakeTempDir("coplan-test-real");
  auto real = ServerProcess::Start({"--data_dir=" + real_dir, "--listen=127.0.0.1:0",
                                    "--log_level=warning", "--shutdown_grace=5s"});
  ASSERT_TRUE(real.ok()) << real.status();
  (*real)->Signal(SIGTERM);
  ASSERT_EQ((*real)->Wait(absl::Seconds(30)), 0);
  auto demo_on_real = testing::RunProgram(
      {testing::ServerBinary(), "--demo", "--data_dir=" + real_dir, "--listen=127.0.0.1:0"}, "",
      absl::Seconds(60));
  EXPECT_NE(demo_on_real.exit_code, 0);
  EXPECT_THAT(demo_on_real.output, HasSubstr("holds a database that is not a demo"));
  std::error_code ignored;
  std::filesystem::remove_all(real_dir, ignored);
}

TEST_F(ServerProcessTest, MigrateAppliesEachMigrationOnce) {
  const std::string conninfo = testing::TestCluster::Get().NewDatabase();
  auto first =
      testing::RunProgram({testing::ServerBinary(), "migrate", "--database_url=" + conninfo});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("applied 0001_people_and_documents.sql"));
  auto second =
      testing::RunProgram({testing::ServerBinary(), "migrate", "--database_url=" + conninfo});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("0 applied"));
  auto unknown = testing::RunProgram({testing::ServerBinary(), "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  auto bad_flag = testing::RunProgram({testing::ServerBinary(), "--db_pool_size=0", "migrate"});
  EXPECT_NE(bad_flag.exit_code, 0);
  EXPECT_THAT(bad_flag.output, HasSubstr("db_pool_size"));
}

// The server never changes the schema of a database it does not own: it is migrated by
// its owner first, and a server on an older schema says so and does not start.
TEST_F(ServerProcessTest, AServerDoesNotStartOnAnUnmigratedDatabase) {
  auto& cluster = testing::TestCluster::Get();
  const std::string owner = cluster.NewDatabase();
  const std::string as_server = owner + " user=" + EmbeddedPostgres::kServerLogin;
  auto refused = testing::RunProgram({testing::ServerBinary(), "--database_url=" + as_server,
                                      "--secret_file=" + NewSecretFile(), "--listen=127.0.0.1:0"},
                                     "", absl::Seconds(60));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("0001_people_and_documents.sql is not applied"));
  EXPECT_THAT(refused.output, HasSubstr("run `coplan-server migrate` with the schema owner's"));
  pqxx::connection conn(owner);
  pqxx::nontransaction tx(conn);
  EXPECT_TRUE(tx.exec("SELECT to_regclass('audit_events')")[0][0].is_null())
      << "the server changed a schema it does not own";
}

// A role that owns the schema (or any superuser) could switch the audit trail's
// protections off, so the server will not work as one.
TEST_F(ServerProcessTest, AServerDoesNotStartAsTheSchemaOwner) {
  auto& cluster = testing::TestCluster::Get();
  const std::string owner = cluster.NewDatabase();
  cluster.MigrateForServer(owner);
  auto refused = testing::RunProgram({testing::ServerBinary(), "--database_url=" + owner,
                                      "--secret_file=" + NewSecretFile(), "--listen=127.0.0.1:0"},
                                     "", absl::Seconds(60));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("is a superuser or acts as the schema's owner"));
}

// The master secret signs tokens and seals the audit trail: on an external database the
// server does not start without a file for it, and a secret an earlier version kept in the
// database is moved out once, byte for byte, and is then gone from the database.
TEST_F(ServerProcessTest, AnExternalDatabaseNeedsASecretFileAndAnOldDatabaseSecretMovesToOne) {
  auto& cluster = testing::TestCluster::Get();
  const std::string owner = cluster.NewDatabase();
  const std::string as_server = cluster.MigrateForServer(owner);
  auto refused = testing::RunProgram(
      {testing::ServerBinary(), "--database_url=" + as_server, "--listen=127.0.0.1:0"}, "",
      absl::Seconds(60));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("set --secret_file"));
  {
    pqxx::connection conn(owner);
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM server_secrets")[0][0].as<int>(), 0)
        << "a secret was put into the database";
    tx.exec_params("INSERT INTO server_secrets (name, value) VALUES ('master', $1)",
                   pqxx::binarystring(std::string("an-old-secret-of-more-than-32-characters")));
    tx.commit();
  }
  const std::string file = testing::MakeTempDir("coplan-test-secret") + "/moved.key";
  auto moved = testing::RunProgram({testing::ServerBinary(), "move-secret-to-file",
                                    "--database_url=" + owner, "--secret_file=" + file});
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "an-old-secret-of-more-than-32-characters");
  struct stat info;
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  {
    pqxx::connection conn(owner);
    pqxx::nontransaction tx(conn);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM server_secrets")[0][0].as<int>(), 0);
  }
  // Nothing left to move, and an existing file is never overwritten.
  auto again = testing::RunProgram({testing::ServerBinary(), "move-secret-to-file",
                                    "--database_url=" + owner, "--secret_file=" + file});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.output, HasSubstr("holds no secret"));
  // The server starts with the moved secret.
  auto server = ServerProcess::Start({"--database_url=" + as_server, "--secret_file=" + file,
                                      "--listen=127.0.0.1:0", "--shutdown_grace=1s"});
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->Signal(SIGTERM);
  EXPECT_EQ((*server)->Wait(absl::Seconds(20)), 0);
}

TEST_F(ServerProcessTest, ReflectionCanBeSwitchedOffForProduction) {
  auto server = ServerProcess::Start({"--demo", "--data_dir=" + data_dir_, "--listen=127.0.0.1:0",
                                      "--log_level=warning", "--reflection=false"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto health = testing::CheckHealth(channel);
  ASSERT_TRUE(health.ok()) << health.status();  // health checks still answer
  auto services = testing::ListServicesByReflection(channel);
  ASSERT_FALSE(services.ok());
  EXPECT_EQ(services.status().code(), absl::StatusCode::kUnimplemented) << services.status();
}

TEST_F(ServerProcessTest, HelpListsEverySetting) {
  auto help = testing::RunProgram({testing::ServerBinary(), "--help"});
  EXPECT_THAT(help.output, Not(HasSubstr("No flags matched")));
  for (const char* flag :
       {"--listen", "--database_url", "--data_dir", "--secret_file", "--tls_cert_file",
        "--token_lifetime", "--max_call_time", "--log_level", "--watch_queue_limit"}) {
    EXPECT_THAT(help.output, HasSubstr(flag)) << help.output;
  }
}

// A request whose string field is not UTF-8: protobuf refuses it and says so in its own
// log, which must come out as a JSON line like everything else on the server's stderr.
TEST_F(ServerProcessTest, WhatTheLibrariesLogIsJsonLinesToo) {
  auto& cluster = testing::TestCluster::Get();
  auto server = ServerProcess::Start(
      {"--database_url=" + cluster.MigrateForServer(cluster.NewDatabase()),
       "--secret_file=" + NewSecretFile(), "--listen=127.0.0.1:0", "--shutdown_grace=1s"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  const std::string username_not_utf8("\x0a\x02\xff\xfe", 4);
  grpc::Status status =
      testing::CallWithRawRequest(channel, "/coplan.v1.AuthService/SignIn", username_not_utf8);
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  (*server)->Signal(SIGTERM);
  ASSERT_EQ((*server)->Wait(absl::Seconds(20)), 0);

  const std::string output = (*server)->Output();
  EXPECT_THAT(output, HasSubstr("\"event\":\"library_log\",\"library\":\"protobuf\""));
  EXPECT_THAT(output, HasSubstr("invalid UTF-8"));
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "Coplan is serving on ")) continue;  // stdout, for people
    google::protobuf::Struct parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &parsed).ok())
        << "not a JSON line: " << line;
  }
}

}  // namespace
}  // namespace coplan
