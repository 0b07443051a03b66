// Rules that depend on what time it is, checked end to end at chosen instants: the server
// runs on a fake clock (tests/support/fake_clock.h) and the test moves it. A grant ends at
// its expiry, a guardian's proxy access at the young person's 16th birthday (UK date), and
// a token at its expiry, through real gRPC on a real database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/fake_clock.h"
#include "tests/support/records.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using testing::FakeClock;
using testing::TestServer;
using testing::TestUser;
using Code = absl::StatusCode;

absl::Time InLondon(int year, int month, int day, int hour, int minute = 0) {
  absl::TimeZone london;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), london);
}

Code ReadPlan(client::remote::RpcClient& client, const std::string& name) {
  v1::GetPlanRequest request;
  request.set_name(name);
  return client.Call(&v1::PlanService::Stub::GetPlan, request).status().code();
}

class ClockRulesTest : public ::testing::Test {
 protected:
  // 30 June 2026, 12:00 in London.
  ClockRulesTest() : clock_(InLondon(2026, 6, 30, 12)) {}

  void StartServer(absl::Duration token_lifetime = absl::Hours(24 * 30)) {
    TestServer::Options options;
    options.clock = &clock_;
    options.configure = [token_lifetime](ServerConfig& config) {
      config.token_lifetime = token_lifetime;
      // Far away: a watch must end at the instant its access does, not at a re-check.
      config.watch_access_recheck = absl::Minutes(5);
    };
    server_ = TestServer::Start(options);
  }

  FakeClock clock_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(ClockRulesTest, AGrantEndsAtItsExpiryForReadsAndForAnOpenWatch) {
  StartServer();
  TestUser alex = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
  TestUser jordan = server_->CreateUser("Jordan");
  const v1::Plan plan = testing::CreateCrisisPlan(alex);
  const absl::Time expiry = clock_.Now() + absl::Hours(2);
  testing::Grant(alex, jordan, plan.name(), v1::ACCESS_LEVEL_READ, expiry);

  EXPECT_EQ(ReadPlan(*jordan.client, plan.name()), Code::kOk);
  testing::WatchCollector watch(*jordan.client, plan.name());
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));

  clock_.Set(expiry - absl::Seconds(1));
  EXPECT_EQ(ReadPlan(*jordan.client, plan.name()), Code::kOk);
  EXPECT_TRUE(watch.status().ok());  // still open

  clock_.Set(expiry);
  const absl::Time moved = absl::Now();
  EXPECT_EQ(ReadPlan(*jordan.client, plan.name()), Code::kNotFound);
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(1)));
  EXPECT_LT(absl::Now() - moved, absl::Seconds(1));
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::NOT_FOUND);
  // The grant shows as expired to the person, and is gone from Jordan's live grants.
  v1::ListGrantsRequest received;
  received.set_received(true);
  auto live = jordan.client->Call(&v1::PeopleService::Stub::ListGrants, received);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->grants_size(), 0);
  v1::ListGrantsRequest given;
  given.set_parent(alex.name);
  given.set_show_inactive(true);
  auto all = alex.client->Call(&v1::PeopleService::Stub::ListGrants, given);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->grants_size(), 1);
  EXPECT_EQ(all->grants(0).state(), v1::GRANT_STATE_EXPIRED);
  EXPECT_EQ(ReadPlan(*alex.client, plan.name()), Code::kOk);
}

// Jordan reads under two grants: one without an end, one that expires. When the lasting
// one is revoked the watch goes on under the other, and must end at that one's expiry.
TEST_F(ClockRulesTest, AWatchLeftUnderAnExpiringGrantEndsAtItsExpiry) {
  StartServer();
  TestUser alex = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
  TestUser jordan = server_->CreateUser("Jordan");
  const v1::Plan plan = testing::CreateCrisisPlan(alex);
  const std::string lasting = testing::Grant(alex, jordan, plan.name(), v1::ACCESS_LEVEL_READ);
  const absl::Time expiry = clock_.Now() + absl::Hours(2);
  testing::Grant(alex, jordan, plan.name(), v1::ACCESS_LEVEL_READ, expiry);
  testing::WatchCollector watch(*jordan.client, plan.name());
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));

  v1::RevokeGrantRequest revoke;
  revoke.set_name(lasting);
  ASSERT_TRUE(alex.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  // A change after the revocation reaches Jordan: the hub has re-checked by then.
  v1::EditDocumentRequest edit;
  edit.set_name(plan.name());
  edit.set_base_revision(plan.revision());
  edit.set_idempotency_key("after-the-revocation");
  *edit.add_operations() = testing::InsertOp("crisis_plan.warning_signs", R"({"text": "quiet"})");
  auto edited = alex.client->Call(&v1::EditingService::Stub::EditDocument, edit);
  ASSERT_TRUE(edited.ok()) << edited.status();
  ASSERT_TRUE(watch.WaitForRevision(plan.revision() + 1));
  absl::SleepFor(absl::Milliseconds(500));  // the re-check's job, if it runs after it
  EXPECT_TRUE(watch.status().ok());         // still open, under the expiring grant

  clock_.Set(expiry);
  const absl::Time moved = absl::Now();
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(2)));
  EXPECT_LT(absl::Now() - moved, absl::Seconds(1));
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ClockRulesTest, AGuardiansAccessIsSuspendedAtMidnightOfTheSixteenthBirthday) {
  StartServer();
  // Sixteen on 1 July 2026, the day after the clock's start.
  TestUser young = server_->CreateUser("Sam", {.birth_date = testing::Date(2010, 7, 1)});
  TestUser parent = server_->CreateUser("Parent");
  const v1::Plan plan = testing::CreateCrisisPlan(young);
  TestUser clinician = server_->CreateUser("Dr Mills", {.clinician = true});
  testing::JoinCareTeam(*server_, young, clinician);
  EXPECT_EQ(
      testing::ActiveStaffProxy(*server_, young, parent, clinician, v1::ACCESS_LEVEL_READ).state(),
      v1::PROXY_STATE_ACTIVE);
  v1::CreateProxyAccessRequest proxy;
  proxy.set_parent(young.name);
  proxy.mutable_proxy_access()->set_proxy(parent.name);
  proxy.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);

  clock_.Set(InLondon(2026, 6, 30, 23, 59));
  EXPECT_EQ(ReadPlan(*parent.client, plan.name()), Code::kOk);
  clock_.Set(InLondon(2026, 7, 1, 0, 0));
  EXPECT_EQ(ReadPlan(*parent.client, plan.name()), Code::kNotFound);
  v1::ListProxyAccessesRequest list;
  list.set_parent(young.name);
  auto proxies = young.client->Call(&v1::PeopleService::Stub::ListProxyAccesses, list);
  ASSERT_TRUE(proxies.ok()) << proxies.status();
  ASSERT_EQ(proxies->proxy_accesses_size(), 1);
  EXPECT_EQ(proxies->proxy_accesses(0).state(), v1::PROXY_STATE_SUSPENDED_AT_16);
  // Staff can no longer set it up again; only the young person can.
  EXPECT_EQ(
      server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, proxy).status().code(),
      Code::kFailedPrecondition);
}

TEST_F(ClockRulesTest, ATokenStopsWorkingAtItsExpiry) {
  StartServer(/*token_lifetime=*/absl::Hours(1));
  TestUser alex = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
  const v1::Plan plan = testing::CreateCrisisPlan(alex);
  // A client holding only the token (no way to sign in again by itself).
  auto holder = server_->NewClient();
  holder->SetToken(alex.client->token());
  clock_.Advance(absl::Minutes(59));
  EXPECT_EQ(ReadPlan(*holder, plan.name()), Code::kOk);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(ReadPlan(*holder, plan.name()), Code::kUnauthenticated);
  // Signing in again at the new instant works.
  auto again = server_->SignInAs(alex.id);
  EXPECT_EQ(ReadPlan(*again, plan.name()), Code::kOk);
}

TEST_F(ClockRulesTest, ARefreshTokenReusedAfterItsExchangeEndsTheDeviceSession) {
  StartServer(/*token_lifetime=*/absl::Hours(1));
  TestUser alex = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
  auto anonymous = server_->NewClient();
  v1::SignInRequest sign_in;
  sign_in.set_username(alex.id);
  sign_in.set_password(TestServer::kPassword);
  sign_in.set_device_name("phone");
  auto device = anonymous->Call(&v1::AuthService::Stub::SignIn, sign_in);
  ASSERT_TRUE(device.ok()) << device.status();
  v1::RefreshSessionRequest first;
  first.set_refresh_token(device->refresh_token());
  // Two hours on, the access token has expired; the refresh token still works, once.
  clock_.Advance(absl::Hours(2));
  auto refreshed = anonymous->Call(&v1::AuthService::Stub::RefreshSession, first);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  // The old token again, two minutes later: a copy is in someone else's hands.
  clock_.Advance(absl::Minutes(2));
  auto stolen = anonymous->Call(&v1::AuthService::Stub::RefreshSession, first);
  EXPECT_EQ(stolen.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(stolen.status().message()), ::testing::HasSubstr("already used"));
  // ... so the whole session ended: the new pair is dead too.
  v1::RefreshSessionRequest second;
  second.set_refresh_token(refreshed->refresh_token());
  EXPECT_EQ(anonymous->Call(&v1::AuthService::Stub::RefreshSession, second).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto holder = server_->NewClient();
  holder->SetToken(refreshed->access_token());
  v1::GetPersonRequest me;
  me.set_name("people/me");
  EXPECT_EQ(holder->Call(&v1::PeopleService::Stub::GetPerson, me).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A device session ends 90 days after its last refresh.
  auto again = anonymous->Call(&v1::AuthService::Stub::SignIn, sign_in);
  ASSERT_TRUE(again.ok());
  clock_.Advance(absl::Hours(24 * 91));
  v1::RefreshSessionRequest late;
  late.set_refresh_token(again->refresh_token());
  EXPECT_EQ(anonymous->Call(&v1::AuthService::Stub::RefreshSession, late).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace coplan
