// deploy/nginx/coplan.conf run by Debian's nginx in front of two coplan-server processes
// on one database: TLS for the client, TLS with a client certificate to the instances
// (which require one). Calls are spread over both; a watch stream on one instance keeps
// delivering while the other is SIGKILLed, and every new call goes to the live one.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "remote/rpc_client.h"
#include "server/app/server_app.h"
#include "server/common/ids.h"
#include "server/common/subprocess.h"
#include "tests/support/process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_cluster.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using testing::ReadText;
using testing::TestCertificates;

constexpr char kPassword[] = "load-balancer-test-password";

int FreePort() {
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(probe);
  return ntohs(address.sin_port);
}

bool Accepts(int port) {
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(probe);
  return connected;
}

// One series' value from an instance's metrics (0 when absent).
double MetricOf(int metrics_port, const std::string& series) {
  httplib::Client http("127.0.0.1", metrics_port);
  auto response = http.Get("/metrics");
  if (!response) return -1;
  const size_t at = response->body.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  const size_t start = at + series.size() + 2;
  double value = 0;
  if (!absl::SimpleAtod(response->body.substr(start, response->body.find('\n', start) - start),
                        &value)) {
    return -1;
  }
  return value;
}

class LoadBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* nginx = std::getenv("COPLAN_NGINX");
    ASSERT_NE(nginx, nullptr) << "COPLAN_NGINX is not set (scripts/install-test-tools)";
    certificates_ = TestCertificates::Make();
    const std::string conninfo = testing::TestCluster::Get().NewDatabase();
    const std::string server_conninfo = testing::TestCluster::Get().MigrateForServer(conninfo);
    const std::string secret = certificates_.dir + "/secret.key";
    std::ofstream(secret) << NewRandomToken(32);
    ServerConfig admin_config;
    admin_config.database_url = server_conninfo;
    admin_config.secret_file = secret;
    ASSERT_TRUE(RunCreateAdmin(admin_config, "admin", "Administrator", kPassword).ok());
    for (int i = 0; i < 2; ++i) {
      metrics_ports_[i] = FreePort();
      auto instance = testing::ServerProcess::Start(
          {"--listen=127.0.0.1:0", "--database_url=" + server_conninfo, "--secret_file=" + secret,
           "--tls_cert_file=" + certificates_.server_cert,
           "--tls_key_file=" + certificates_.server_key,
           "--tls_client_ca_file=" + certificates_.ca_cert,
           absl::StrCat("--metrics_listen=127.0.0.1:", metrics_ports_[i]), "--log_level=warning",
           "--shutdown_grace=2s"});
      ASSERT_TRUE(instance.ok()) << instance.status();
      instances_[i] = std::move(instance).value();
    }
    StartNginx(nginx);
  }

  // The shipped configuration with this test's addresses and files put in; each
  // replaced text must be there, so the test follows the file.
  void StartNginx(const std::string& nginx) {
    const std::string dir = certificates_.dir;
    port_ = FreePort();
    std::string site = ReadText(std::string(COPLAN_SOURCE_DIR) + "/deploy/nginx/coplan.conf");
    const std::vector<std::pair<std::string, std::string>> replacements = {
        {"10.0.1.11:8443", instances_[0]->address()},
        {"10.0.1.12:8443", instances_[1]->address()},
        {"listen 443 ssl", absl::StrCat("listen 127.0.0.1:", port_, " ssl")},
        {"/etc/nginx/coplan/public.crt", certificates_.server_cert},
        {"/etc/nginx/coplan/public.key", certificates_.server_key},
        {"/etc/nginx/coplan/to-instances.crt", certificates_.client_cert},
        {"/etc/nginx/coplan/to-instances.key", certificates_.client_key},
        {"/etc/nginx/coplan/instances-ca.crt", certificates_.ca_cert},
        {"/var/log/nginx/coplan-access.log", dir + "/access.log"},
        {"grpc_ssl_name coplan-server", "grpc_ssl_name localhost"},
    };
    for (const auto& [from, to] : replacements) {
      ASSERT_NE(site.find(from), std::string::npos) << "deploy/nginx/coplan.conf lacks " << from;
      site = absl::StrReplaceAll(site, {{from, to}});
    }
    std::ofstream(dir + "/coplan.conf") << site;
    std::ofstream(dir + "/nginx.conf")
        << (::geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\n"
        << "pid " << dir << "/nginx.pid;\n"
        << "events { worker_connections 256; }\n"
        << "http {\n"
        << "  client_body_temp_path " << dir << "/body;\n"
        << "  proxy_temp_path " << dir << "/proxy;\n"
        << "  fastcgi_temp_path " << dir << "/fastcgi;\n"
        << "  uwsgi_temp_path " << dir << "/uwsgi;\n"
        << "  scgi_temp_path " << dir << "/scgi;\n"
        << "  include " << dir << "/coplan.conf;\n"
        << "}\n";
    auto started = Subprocess::Start({.argv = {nginx, "-p", dir, "-c", dir + "/nginx.conf", "-e",
                                               dir + "/error.log", "-g", "daemon off;"},
                                      .stdout_file = dir + "/nginx.out",
                                      .stderr_file = dir + "/nginx.out"});
    ASSERT_TRUE(started.ok()) << started.status();
    nginx_ = std::move(started).value();
    for (int i = 0; i < 100 && !Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(Accepts(port_)) << "nginx did not start:\n"
                                << ReadText(dir + "/nginx.out") << ReadText(dir + "/error.log");
    // The configuration loads without a warning (an obsolete or misplaced directive).
    EXPECT_EQ(ReadText(dir + "/error.log").find("[warn]"), std::string::npos)
        << ReadText(dir + "/error.log");
  }

  // A client of the proxy (not of an instance), trusting the proxy's certificate only.
  std::unique_ptr<client::remote::RpcClient> ProxyClient() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadText(certificates_.ca_cert);
    client::remote::RpcClientOptions options;
    // An address, not "localhost": the certificate names both, and a name would go
    // through c-ares, whose Debian build leaks a little per channel under LeakSanitizer.
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.credentials = grpc::SslCredentials(ssl);
    options.default_deadline = absl::Seconds(10);
    options.max_attempts = 1;  // what the proxy does, not what the client's retries hide
    return std::make_unique<client::remote::RpcClient>(options);
  }

  double GetPlanCalls(int instance) {
    return MetricOf(metrics_ports_[instance],
                    "coplan_rpc_calls_total{method=\"coplan.v1.PlanService/GetPlan\",code=\"OK\"}");
  }

  TestCertificates certificates_;
  std::unique_ptr<testing::ServerProcess> instances_[2];
  int metrics_ports_[2] = {0, 0};
  std::unique_ptr<Subprocess> nginx_;
  int port_ = 0;
};

TEST_F(LoadBalancerTest, CallsAreSpreadAndAStreamSurvivesTheOtherInstancesDeath) {
  auto admin = ProxyClient();
  ASSERT_TRUE(admin->SignIn("admin", kPassword).ok());
  v1::CreatePersonRequest person;
  person.set_person_id("alexlb");
  person.mutable_person()->set_display_name("Alex");
  auto created = admin->Call(&v1::PeopleService::Stub::CreatePerson, person);
  ASSERT_TRUE(created.ok()) << created.status();
  v1::CreateAccountRequest account;
  account.set_parent(created->name());
  account.set_username("alexlb");
  account.set_password(kPassword);
  ASSERT_TRUE(admin->Call(&v1::PeopleService::Stub::CreateAccount, account).ok());

  auto alex = ProxyClient();
  ASSERT_TRUE(alex->SignIn("alexlb", kPassword).ok());
  v1::CreatePlanRequest create;
  create.set_parent(created->name());
  create.set_plan_id("crisis");
  create.mutable_plan()->set_title("My crisis plan");
  create.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("not sleeping");
  auto plan = alex->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();

  v1::GetPlanRequest get;
  get.set_name(plan->name());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(alex->Call(&v1::PlanService::Stub::GetPlan, get).ok()) << i;
  }
  EXPECT_GT(GetPlanCalls(0), 0) << "no read reached the first instance";
  EXPECT_GT(GetPlanCalls(1), 0) << "no read reached the second instance";
  EXPECT_EQ(GetPlanCalls(0) + GetPlanCalls(1), 20);

  testing::WatchCollector watch(*alex, plan->name());
  ASSERT_TRUE(watch.WaitForRevision(1));
  const int watched = MetricOf(metrics_ports_[0], "coplan_open_streams") == 1 ? 0 : 1;
  ASSERT_EQ(MetricOf(metrics_ports_[watched], "coplan_open_streams"), 1);
  const int other = 1 - watched;
  instances_[other]->Signal(SIGKILL);
  ASSERT_EQ(instances_[other]->Wait(absl::Seconds(10)), -1);  // killed, not exited

  // Every new call reaches the live instance (a first attempt at the dead one is passed
  // on), and the stream on it carries the change.
  for (int i = 0; i < 10; ++i) {
    auto read = alex->Call(&v1::PlanService::Stub::GetPlan, get);
    EXPECT_TRUE(read.ok()) << "call " << i << " after the kill: " << read.status();
  }
  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(plan->name());
  update.mutable_plan()->set_title("My crisis plan, after the kill");
  update.mutable_update_mask()->add_paths("title");
  auto updated = alex->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(watch.WaitForRevision(2)) << "the stream on the live instance did not deliver";
  EXPECT_FALSE(watch.WaitForEnd(absl::Milliseconds(200))) << watch.status().error_message();
}

}  // namespace
}  // namespace coplan
