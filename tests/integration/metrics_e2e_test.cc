// The Prometheus endpoint, scraped over HTTP while clients load the server over gRPC: the
// counters and histograms move by what the clients did, the gauges show the open watch
// stream, nothing in the output names a person, document or account, promtool (from
// Debian's prometheus package) accepts the output and its naming, and a metrics port in
// use stops the server with a message naming it.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/process.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestServer;

// Series ("name{labels}") to value, from the text format.
std::map<std::string, double> Parse(const std::string& text) {
  std::map<std::string, double> series;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space != std::string::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      series[line.substr(0, space)] = value;
    }
  }
  return series;
}

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestServer::Options options;
    options.configure = [](ServerConfig& config) { config.metrics_listen = "127.0.0.1:0"; };
    server_ = TestServer::Start(options).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::string Scrape() {
    const std::string address = server_->app().metrics_address();
    httplib::Client http("http://" + address);
    auto response = http.Get("/metrics");
    EXPECT_TRUE(response) << "no answer from " << address;
    if (!response) return "";
    EXPECT_EQ(response->status, 200);
    EXPECT_THAT(response->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
    return response->body;
  }

  static TestServer* server_;
};

TestServer* MetricsTest::server_ = nullptr;

TEST_F(MetricsTest, CountersMoveUnderLoadAndNameNoOne) {
  testing::TestUser alex = server_->CreateUser("Alexandria Quinn-Metrics");
  v1::CreatePlanRequest create;
  create.set_parent(alex.name);
  create.set_plan_id("metricsplan");
  create.mutable_plan()->set_title("A crisis plan of Alexandria's");
  create.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("not sleeping");
  auto plan = alex.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();

  const std::map<std::string, double> before = Parse(Scrape());
  const std::string get_ok =
      "coplan_rpc_calls_total{method=\"coplan.v1.PlanService/GetPlan\",code=\"OK\"}";
  const std::string get_missing =
      "coplan_rpc_calls_total{method=\"coplan.v1.PlanService/GetPlan\",code=\"NOT_FOUND\"}";
  const std::string get_count =
      "coplan_rpc_duration_seconds_count{method=\"coplan.v1.PlanService/GetPlan\"}";
  const std::string refused = "coplan_sign_ins_total{outcome=\"refused\"}";

  // Load: reads on two threads while the endpoint is scraped again and again.
  constexpr int kReadsPerThread = 40;
  std::atomic<int> failed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      v1::GetPlanRequest get;
      get.set_name(plan->name());
      for (int i = 0; i < kReadsPerThread; ++i) {
        if (!alex.client->Call(&v1::PlanService::Stub::GetPlan, get).ok()) ++failed;
      }
    });
  }
  std::string during;
  for (int i = 0; i < 5; ++i) during = Scrape();
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failed.load(), 0);
  v1::GetPlanRequest missing;
  missing.set_name(alex.name + "/plans/nosuchplan");
  EXPECT_EQ(alex.client->Call(&v1::PlanService::Stub::GetPlan, missing).status().code(),
            absl::StatusCode::kNotFound);
  auto wrong = server_->NewClient();
  EXPECT_FALSE(wrong->SignIn(alex.id, "not the password").ok());

  testing::WatchCollector watch(*alex.client, plan->name());
  ASSERT_TRUE(watch.WaitForRevision(1));
  const std::string text = Scrape();
  const std::map<std::string, double> after = Parse(text);
  auto moved = [&](const std::string& series) {
    const double was = before.count(series) ? before.at(series) : 0;
    return after.count(series) ? after.at(series) - was : -1;
  };
  EXPECT_EQ(moved(get_ok), 2 * kReadsPerThread);
  EXPECT_EQ(moved(get_missing), 1);
  EXPECT_EQ(moved(get_count), 2 * kReadsPerThread + 1);
  EXPECT_EQ(moved(refused), 1);
  EXPECT_GE(after.at("coplan_open_streams"), 1);
  EXPECT_GE(after.at("coplan_followed_documents"), 1);
  EXPECT_EQ(after.at("coplan_worker_threads{pool=\"calls\"}"), 6);  // db_pool_size 4 + 2
  EXPECT_EQ(after.at("coplan_db_pool_max_connections"), 4);
  EXPECT_GE(after.at("coplan_db_connections{state=\"idle\"}") +
                after.at("coplan_db_connections{state=\"in_use\"}"),
            1);
  EXPECT_GT(after.at("coplan_audit_rows_recorded_total"), 2 * kReadsPerThread);
  EXPECT_TRUE(after.count("coplan_doorbell_reconnects_total"));
  EXPECT_TRUE(after.count("coplan_audit_sealed_as_of_timestamp_seconds"));
  // A scrape taken during the load was whole (the histogram's last line is there).
  EXPECT_THAT(during, HasSubstr("coplan_rpc_duration_seconds_count{method="));

  for (const std::string& secret : {alex.id, alex.name, plan->name(), std::string("metricsplan"),
                                    std::string("Alexandria"), std::string("nosuchplan")}) {
    EXPECT_THAT(text, Not(HasSubstr(secret))) << "the metrics name " << secret;
  }

  // The format and the names as Prometheus' own linter sees them.
  const char* promtool = std::getenv("COPLAN_PROMTOOL");
  ASSERT_NE(promtool, nullptr) << "COPLAN_PROMTOOL is not set (scripts/install-test-tools)";
  testing::ProcessResult checked = testing::RunProgram({promtool, "check", "metrics"}, text);
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_EQ(checked.output, "");
}

TEST_F(MetricsTest, OnlyMetricsAreServed) {
  httplib::Client http("http://" + server_->app().metrics_address());
  auto other = http.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto posted = http.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_NE(posted->status, 200);
}

absl::Status StartWithMetricsOn(const std::string& listen) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.database_url = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=1";
  config.secret_file = "/nonexistent/secret.key";
  config.metrics_listen = listen;
  config.log_level = LogLevel::kError;
  return ServerApp::Start(config).status();
}

TEST(MetricsPortTest, APortInUseOrNotHostPortStopsTheServerNamingIt) {
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string in_use = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));

  absl::Status busy = StartWithMetricsOn(in_use);
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition) << busy;
  EXPECT_THAT(std::string(busy.message()),
              HasSubstr("--metrics_listen=" + in_use + ": cannot listen there"));
  ::close(taken);

  absl::Status malformed = StartWithMetricsOn("9464");
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument) << malformed;
  EXPECT_THAT(std::string(malformed.message()), HasSubstr("--metrics_listen=9464: not host:port"));
}

}  // namespace
}  // namespace coplan
