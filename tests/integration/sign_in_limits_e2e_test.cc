// Sign-in limits, through real gRPC against the real database: per-username and
// per-address rate limits (RESOURCE_EXHAUSTED, SIGN_IN_THROTTLED, the same for unknown
// and known names), the client address taken from X-Forwarded-For only from a trusted
// proxy, the device cookie that lets a known device past a throttled address, and the
// sign-in lane: a flood of sign-ins does not keep anyone from their crisis plan.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/rpc/error_details.pb.h"
#include "remote/grpc_status.h"
#include "tests/support/process.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using client::remote::ErrorDetail;
using client::remote::FromGrpcStatus;
using testing::TestServer;
using testing::TestUser;

struct SignInAnswer {
  absl::Status status;
  v1::SignInResponse response;
};

// One SignIn with what a reverse proxy or a device would add.
SignInAnswer SignIn(client::remote::RpcClient& client, const std::string& username,
                    const std::string& password, const std::string& forwarded_for = "",
                    const std::string& device_cookie = "") {
  auto context = client.NewContext(absl::Seconds(20));
  if (!forwarded_for.empty()) context->AddMetadata("x-forwarded-for", forwarded_for);
  v1::SignInRequest request;
  request.set_username(username);
  request.set_password(password);
  request.set_device_cookie(device_cookie);
  SignInAnswer answer;
  answer.status = FromGrpcStatus(
      client.stub<v1::AuthService::Stub>().SignIn(context.get(), request, &answer.response));
  return answer;
}

bool IsThrottled(const absl::Status& status) {
  auto info = ErrorDetail<google::rpc::ErrorInfo>(status);
  return status.code() == absl::StatusCode::kResourceExhausted && info &&
         info->reason() == "SIGN_IN_THROTTLED" && ErrorDetail<google::rpc::RetryInfo>(status);
}

// An attacker gets the same limit on a name whether or not it exists, and the refusal is
// clear and retryable.
TEST(SignInLimitsTest, AUsernameIsLimitedAlikeWhetherOrNotItExists) {
  auto server = TestServer::Start({.configure = [](ServerConfig& config) {
    config.sign_in_per_username_per_minute = 3;
    config.sign_in_per_peer_per_minute = 1000;
    config.sign_in_max_failures = 100;
  }});
  TestUser robin = server->CreateUser("Robin");
  auto client = server->NewClient();
  std::vector<absl::Status> known;
  std::vector<absl::Status> unknown;
  for (int i = 0; i < 4; ++i) {
    known.push_back(SignIn(*client, robin.id, "wrong-password-123").status);
    unknown.push_back(SignIn(*client, "nobody-of-that-name", "wrong-password-123").status);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(known[i].code(), absl::StatusCode::kUnauthenticated) << i;
    EXPECT_EQ(unknown[i].code(), absl::StatusCode::kUnauthenticated) << i;
  }
  EXPECT_TRUE(IsThrottled(known[3])) << known[3];
  EXPECT_TRUE(IsThrottled(unknown[3])) << unknown[3];
  EXPECT_EQ(known[3].message(), unknown[3].message());
  EXPECT_THAT(std::string(known[3].message()), ::testing::HasSubstr("try again in"));
  // Even the right password waits: the limit is on the name, before any check.
  EXPECT_TRUE(IsThrottled(SignIn(*client, robin.id, TestServer::kPassword).status));
  // Other names are not held up.
  EXPECT_TRUE(SignIn(*client, server->CreateUser("Kit").id, TestServer::kPassword).status.ok());
}

// The address limit: taken from X-Forwarded-For only when the socket peer is a trusted
// proxy; a device that signed in before passes it with its device cookie.
TEST(SignInLimitsTest, TheAddressLimitTrustsOnlyNamedProxiesAndKnownDevicesPassIt) {
  auto server = TestServer::Start({.configure = [](ServerConfig& config) {
    config.sign_in_per_username_per_minute = 1000;
    config.sign_in_per_peer_per_minute = 3;
    config.trusted_proxies = "127.0.0.1, ::1";
  }});
  TestUser alex = server->CreateUser("Alex");
  auto client = server->NewClient();
  const std::string ward = "203.0.113.5";
  SignInAnswer first = SignIn(*client, alex.id, TestServer::kPassword, ward);
  ASSERT_TRUE(first.status.ok()) << first.status;
  const std::string cookie = first.response.device_cookie();
  ASSERT_FALSE(cookie.empty());

  // Someone else on the ward's network spends its allowance with failures.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(SignIn(*client, absl::StrCat("guess-", i), "x-password-123", ward).status.code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(IsThrottled(SignIn(*client, "guess-9", "x-password-123", ward).status));
  // Another client address behind the same proxy is not affected.
  EXPECT_EQ(SignIn(*client, "guess-9", "x-password-123", "203.0.113.6").status.code(),
            absl::StatusCode::kUnauthenticated);
  // Alex's phone shows it signed in before and gets in; without the cookie it would wait,
  // and a cookie does not transfer to another name.
  EXPECT_TRUE(IsThrottled(SignIn(*client, alex.id, TestServer::kPassword, ward).status));
  EXPECT_TRUE(SignIn(*client, alex.id, TestServer::kPassword, ward, cookie).status.ok());
  EXPECT_TRUE(IsThrottled(SignIn(*client, "guess-10", "x-password-123", ward, cookie).status));
  EXPECT_TRUE(
      IsThrottled(SignIn(*client, "guess-11", "x-password-123", ward, "cdc_1.forged").status));

  // Without --trusted_proxies the header is the client's own claim and changes nothing.
  auto direct = TestServer::Start({.configure = [](ServerConfig& config) {
    config.sign_in_per_username_per_minute = 1000;
    config.sign_in_per_peer_per_minute = 3;
  }});
  auto other = direct->NewClient();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        SignIn(*other, absl::StrCat("guess-", i), "x-password-123", absl::StrCat("198.51.100.", i))
            .status.code(),
        absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(IsThrottled(SignIn(*other, "guess-9", "x-password-123", "198.51.100.99").status));
}

// Bad configuration is refused at start with the entry named.
TEST(SignInLimitsTest, AnUnparsableTrustedProxyIsRefusedAtStart) {
  auto refused = testing::RunProgram(
      {testing::ServerBinary(), "--trusted_proxies=10.0.0.0/8,proxy.internal", "migrate"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, ::testing::HasSubstr("\"proxy.internal\" is not an IP address"));
}

// Hundreds of sign-ins in flight at once (unknown names, each worth a password hash) and,
// meanwhile, a young person opening their crisis plan. The limits are raised out of the
// way, so what protects the plan is the sign-in lane: sign-ins queue and are refused on
// their own threads, and GetPlan keeps its own. Before the lane, sign-ins took every
// worker thread (each waiting for a hash slot) and GetPlan waited behind all of them.
TEST(SignInFloodTest, CrisisPlansStayReachableDuringASignInFlood) {
  auto server = TestServer::Start({.configure = [](ServerConfig& config) {
    config.sign_in_per_username_per_minute = 100000;
    config.sign_in_per_peer_per_minute = 100000;
  }});
  TestUser alex = server->CreateUser("Alex");
  v1::CreatePlanRequest create;
  create.set_parent(alex.name);
  create.mutable_plan()->set_title("When things get bad");
  create.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("Not sleeping");
  auto plan = alex.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();

  // The flood: kInFlight calls at all times, each answered one re-sent at once.
  constexpr int kInFlight = 300;
  auto attacker = server->NewClient();
  auto& auth = attacker->stub<v1::AuthService::Stub>();
  std::atomic<bool> stop{false};
  std::atomic<int> outstanding{0};
  std::atomic<int> answered_unauthenticated{0};
  std::atomic<int> refused_busy{0};
  std::atomic<int> other_answers{0};
  std::atomic<int> sent{0};
  struct Attempt {
    grpc::ClientContext context;
    v1::SignInRequest request;
    v1::SignInResponse response;
  };
  std::function<void()> send = [&] {
    auto* attempt = new Attempt;
    attempt->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    attempt->request.set_username(absl::StrCat("flood-", sent.fetch_add(1)));
    attempt->request.set_password("not-a-real-password");
    outstanding.fetch_add(1);
    auth.async()->SignIn(&attempt->context, &attempt->request, &attempt->response,
                         [&, attempt](grpc::Status status) {
                           delete attempt;
                           if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
                             answered_unauthenticated.fetch_add(1);
                           } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
                             refused_busy.fetch_add(1);
                           } else {
                             other_answers.fetch_add(1);
                           }
                           if (!stop.load()) send();
                           outstanding.fetch_sub(1);
                         });
  };
  for (int i = 0; i < kInFlight; ++i) send();
  absl::SleepFor(absl::Milliseconds(300));  // the flood is under way

  std::vector<double> latencies_ms;
  int failures = 0;
  const absl::Time until = absl::Now() + absl::Seconds(4);
  while (absl::Now() < until) {
    v1::GetPlanRequest get;
    get.set_name(plan->name());
    const absl::Time start = absl::Now();
    auto read = alex.client->Call(&v1::PlanService::Stub::GetPlan, get,
                                  {.retry = false, .deadline = absl::Seconds(2)});
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    if (!read.ok()) {
      ++failures;
      ADD_FAILURE() << "GetPlan during the flood: " << read.status();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop.store(true);
  const absl::Time drain_until = absl::Now() + absl::Seconds(60);
  while (outstanding.load() > 0 && absl::Now() < drain_until)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(outstanding.load(), 0) << "the flood's calls did not all end";

  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p50 = latencies_ms[latencies_ms.size() / 2];
  const double p99 =
      latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  std::cout << "sign-in flood: " << kInFlight << " sign-ins in flight, " << sent.load() << " sent ("
            << answered_unauthenticated.load() << " checked, " << refused_busy.load()
            << " refused by the full sign-in lane, " << other_answers.load() << " other); GetPlan "
            << latencies_ms.size() << " calls, p50 " << p50 << " ms, p99 " << p99 << " ms, "
            << failures << " failed\n";
  ::testing::Test::RecordProperty("get_plan_p99_ms", absl::StrCat(p99));
  EXPECT_EQ(failures, 0);
  EXPECT_GT(answered_unauthenticated.load(), 0) << "the flood's sign-ins were checked";
  EXPECT_EQ(other_answers.load(), 0);
  // The sign-ins the lane could not take were refused at once, not queued behind plans.
  EXPECT_GT(refused_busy.load(), 0);
}

}  // namespace
}  // namespace coplan
